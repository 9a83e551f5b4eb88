// Learning-rate schedules at hand-computed steps.
#include "assertions.hpp"

#include <clipft/optim/schedule.hpp>

#include <numbers>

using namespace clipft;
using optim::LearningRateSchedule;

TEST_CASE("warm-up then cosine, each cycle peaking at half the previous one") {
    auto schedule = LearningRateSchedule::warmup_cosine(8e-7, 4, 10);
    CHECK(schedule(0) == doctest::Approx(2e-7)); // (0 + 1) / 4 of the peak
    CHECK(schedule(3) == doctest::Approx(8e-7)); // the warm-up ends at the peak
    CHECK(schedule(4) == doctest::Approx(8e-7)); // cosine starts at the peak
    CHECK(schedule(9) == doctest::Approx(8e-7 * 0.5 * (1 + std::cos(std::numbers::pi * 0.5))));
    CHECK(schedule(13) == doctest::Approx(8e-7 * 0.5 * (1 + std::cos(std::numbers::pi * 0.9))));
    CHECK(schedule(14) == doctest::Approx(1e-7)); // second cycle: warm-up to 4e-7
    CHECK(schedule(17) == doctest::Approx(4e-7));
    CHECK(schedule(31) == doctest::Approx(2e-7)); // third cycle's peak
    for (std::int64_t step = 0; step < 60; ++step) CHECK(schedule(step) <= 8e-7 * (1 + 1e-12));
}

TEST_CASE("constant and step schedules") {
    CHECK(LearningRateSchedule::constant_rate(3e-4)(12345) == 3e-4);
    auto step = LearningRateSchedule::step_decay(1.0, 10, 0.5);
    CHECK(step(9) == 1.0);
    CHECK(step(10) == 0.5);
    CHECK(step(25) == 0.25);
}

TEST_CASE("bad schedules are refused") {
    CHECK(testing::error_message([] { LearningRateSchedule::warmup_cosine(1e-3, 10, 0); }).find("cosine_steps") !=
          std::string::npos);
    CHECK(testing::error_message([] { LearningRateSchedule::step_decay(1e-3, 0, 0.5); }).find("step_size") !=
          std::string::npos);
    CHECK(testing::error_message([] { LearningRateSchedule::constant_rate(1e-3)(-1); }).find("negative") !=
          std::string::npos);
}
