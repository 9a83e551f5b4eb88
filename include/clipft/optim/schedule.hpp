#pragma once
// Learning-rate schedules as pure functions of the optimizer step (0-based), so that resuming a run
// needs nothing but the step count.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::optim {

struct LearningRateSchedule {
    enum class Kind {
        constant,              // peak at every step
        step,                  // peak * gamma^(step / step_size)
        warmup_cosine_restarts // the thesis' recipe, below
    };
    Kind kind = Kind::constant;
    double peak = 1e-3;
    // step: multiply by `gamma` every `step_size` steps.
    std::int64_t step_size = 1;
    double gamma = 0.1;
    // warmup_cosine_restarts: cycles of a linear warm-up from 0 to the cycle's peak over
    // `warmup_steps`, then cosine annealing to `minimum` over `cosine_steps`; each cycle's peak is
    // the previous one times `peak_decay` (0.5: it halves, SPEC).
    std::int64_t warmup_steps = 0, cosine_steps = 1;
    double minimum = 0.0, peak_decay = 0.5;

    static LearningRateSchedule constant_rate(double peak) { return {Kind::constant, peak}; }
    static LearningRateSchedule step_decay(double peak, std::int64_t step_size, double gamma) {
        LearningRateSchedule schedule{Kind::step, peak};
        schedule.step_size = step_size;
        schedule.gamma = gamma;
        return schedule.validated();
    }
    static LearningRateSchedule warmup_cosine(double peak, std::int64_t warmup_steps, std::int64_t cosine_steps,
                                              double peak_decay = 0.5, double minimum = 0.0) {
        LearningRateSchedule schedule{Kind::warmup_cosine_restarts, peak};
        schedule.warmup_steps = warmup_steps;
        schedule.cosine_steps = cosine_steps;
        schedule.peak_decay = peak_decay;
        schedule.minimum = minimum;
        return schedule.validated();
    }

    // The learning rate of optimizer step `step` (0 = the first update).
    double operator()(std::int64_t step) const {
        if (step < 0) fail("LearningRateSchedule: negative step ", step);
        switch (kind) {
        case Kind::constant:
            return peak;
        case Kind::step:
            return peak * std::pow(gamma, double(step / step_size));
        case Kind::warmup_cosine_restarts: {
            std::int64_t cycle_length = warmup_steps + cosine_steps, cycle = step / cycle_length,
                         position = step % cycle_length;
            double cycle_peak = peak * std::pow(peak_decay, double(cycle));
            // The first update of a warm-up already gets a non-zero rate: (position + 1) / warmup.
            if (position < warmup_steps) return cycle_peak * double(position + 1) / double(warmup_steps);
            double progress = double(position - warmup_steps) / double(cosine_steps);
            return minimum + (cycle_peak - minimum) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
        }
        }
        fail("LearningRateSchedule: unknown kind");
    }

    LearningRateSchedule validated() const {
        if (!(peak >= 0)) fail("LearningRateSchedule: the peak learning rate must be >= 0, got ", peak);
        if (kind == Kind::step && (step_size < 1 || !(gamma > 0)))
            fail("LearningRateSchedule: step decay needs step_size >= 1 and gamma > 0, got ", step_size, " and ",
                 gamma);
        if (kind == Kind::warmup_cosine_restarts &&
            (warmup_steps < 0 || cosine_steps < 1 || !(peak_decay > 0) || !(minimum >= 0) || minimum > peak))
            fail("LearningRateSchedule: warm-up/cosine needs warmup_steps >= 0, cosine_steps >= 1, peak_decay > 0 and "
                 "0 <= minimum <= peak; got ",
                 warmup_steps, ", ", cosine_steps, ", ", peak_decay, ", ", minimum);
        return *this;
    }
};

} // namespace clipft::optim
