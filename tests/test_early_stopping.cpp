// Early stopping: the thesis' rule (5% over 3 epochs) on hand-made loss sequences.
#include "assertions.hpp"

#include <clipft/train/early_stopping.hpp>

using namespace clipft;

TEST_CASE("stops after three epochs without a 5% improvement; the best epoch is the lowest loss") {
    train::EarlyStopping stopping;
    std::vector<double> losses{1.0, 0.9, 0.96, 0.94, 0.88};
    std::vector<bool> best{true, true, false, false, true};
    std::vector<bool> stop{false, false, false, false, true};
    for (std::size_t epoch = 0; epoch < losses.size(); ++epoch) {
        CAPTURE(epoch);
        CHECK(stopping.record(std::int64_t(epoch), losses[epoch]) == best[epoch]);
        CHECK(stopping.should_stop() == stop[epoch]);
    }
    // 0.88 was the lowest but not 5% below 0.9: it is kept as best and still counts as no improvement.
    CHECK(stopping.best_epoch == 4);
    CHECK(stopping.epochs_without_improvement == 3);
}

TEST_CASE("a 5% improvement resets the count; patience 0 never stops") {
    train::EarlyStopping stopping;
    for (double loss : {1.0, 0.99, 0.98, 0.90, 0.89}) stopping.record(0, loss);
    CHECK(stopping.epochs_without_improvement == 1);
    CHECK_FALSE(stopping.should_stop());
    train::EarlyStopping never{.patience = 0};
    for (int i = 0; i < 10; ++i) never.record(i, 1.0);
    CHECK_FALSE(never.should_stop());
}

TEST_CASE("the state survives a JSON round trip, infinities included") {
    train::EarlyStopping fresh, restored;
    restored.load_state(io::Json::parse(fresh.state().dump()));
    CHECK(std::isinf(restored.best_loss));
    fresh.record(0, 2.0);
    fresh.record(1, 1.99);
    restored.load_state(io::Json::parse(fresh.state().dump()));
    CHECK(restored.best_loss == 1.99);
    CHECK(restored.reference_loss == 2.0);
    CHECK(restored.epochs_without_improvement == 1);
    CHECK(restored.best_epoch == 1);
}
