#pragma once
// Dynamic loss scaling for float16 mixed precision, as torch.cuda.amp.GradScaler does it: the loss
// is multiplied by a large scale before backward so that small gradients survive float16 products
// instead of flushing to zero; before the optimizer step the gradients are divided by the scale
// again. A step whose gradients hold an infinity or NaN (the scale was too large: something
// overflowed) is skipped and the scale backed off; after `growth_interval` clean steps in a row the
// scale grows. bfloat16 has float's range and needs none of this.
#include <clipft/backends.hpp>
#include <clipft/io/json.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/indexing.hpp>
#include <clipft/ops/reduction.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::optim {

struct LossScalerOptions {
    double initial_scale = 65536.0; // 2^16
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    std::int64_t growth_interval = 2000;
};

class DynamicLossScaler {
public:
    explicit DynamicLossScaler(LossScalerOptions options = {}) : options_(options), scale_(options.initial_scale) {
        if (!(options.initial_scale > 0) || !(options.growth_factor > 1) ||
            !(options.backoff_factor > 0 && options.backoff_factor < 1) || options.growth_interval < 1)
            fail("DynamicLossScaler: invalid options (initial scale ", options.initial_scale, ", growth factor ",
                 options.growth_factor, ", backoff factor ", options.backoff_factor, ", growth interval ",
                 options.growth_interval, "); need a scale > 0, growth > 1, backoff in (0, 1) and an interval >= 1");
    }

    double scale() const { return scale_; }
    std::int64_t skipped_steps() const { return skipped_steps_; }

    // The loss to call backward() on.
    template <Floating T> Tensor<T> scale_loss(const Tensor<T>& loss) const { return loss * T(scale_); }

    // Divides every gradient of `parameters` by the scale, in place; true when all are finite. The
    // check is one sum over every gradient (a single read-back from a GPU); an infinite sum of
    // finite gradients counts as an overflow, which only makes the scaler more careful.
    template <Floating T> bool unscale(const std::vector<Tensor<T>>& parameters) const {
        NoGradGuard no_grad;
        std::vector<Tensor<T>> sums;
        for (const Tensor<T>& parameter : parameters) {
            Tensor<T> grad = parameter.grad();
            if (!grad.defined()) continue;
            grad.copy_(grad * T(1 / scale_));
            sums.push_back(ops::sum(grad).reshape({1}));
        }
        return sums.empty() || std::isfinite(double(ops::sum(ops::concat(sums, 0)).item()));
    }

    // Adapts the scale to whether the step's gradients were finite.
    void update(bool finite) {
        if (!finite) {
            scale_ *= options_.backoff_factor;
            clean_steps_ = 0;
            ++skipped_steps_;
            return;
        }
        if (++clean_steps_ == options_.growth_interval) {
            scale_ *= options_.growth_factor;
            clean_steps_ = 0;
        }
    }

    // Unscales the gradients, steps the optimizer when they are finite, and updates the scale;
    // returns whether the optimizer stepped. Gradients of a skipped step are left for zero_grad.
    template <typename Optimizer, Floating T>
    bool step(Optimizer& optimizer, const std::vector<Tensor<T>>& parameters) {
        bool finite = unscale(parameters);
        if (finite) optimizer.step();
        update(finite);
        return finite;
    }

    // What a training checkpoint keeps, so that a resumed run scales as the uninterrupted one.
    io::Json state() const {
        return {{"scale", scale_}, {"clean_steps", clean_steps_}, {"skipped_steps", skipped_steps_}};
    }
    void load_state(const io::Json& state) {
        double scale = state.at("scale").get<double>();
        if (!(scale > 0)) fail("DynamicLossScaler::load_state: the scale must be positive, got ", scale);
        scale_ = scale;
        clean_steps_ = io::json_integer(state.at("clean_steps"), "DynamicLossScaler::load_state: clean_steps");
        skipped_steps_ = io::json_integer(state.at("skipped_steps"), "DynamicLossScaler::load_state: skipped_steps");
    }

private:
    LossScalerOptions options_;
    double scale_;
    std::int64_t clean_steps_ = 0, skipped_steps_ = 0;
};

} // namespace clipft::optim
