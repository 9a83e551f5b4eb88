#pragma once
// Early stopping on the validation loss, the thesis' rule by default: stop when the loss has not
// improved by at least 5% over 3 consecutive epochs. "Improved" compares with the loss of the last
// epoch that counted as an improvement; the best weights are those of the lowest loss seen, even
// when that epoch improved by less than the threshold.
#include <clipft/backends.hpp>
#include <clipft/io/json.hpp>

#include <limits>

namespace clipft::inline CLIPFT_BACKENDS::train {

struct EarlyStopping {
    std::int64_t patience = 3; // epochs without improvement before stopping; 0: never stop early
    double min_relative_improvement = 0.05;

    double best_loss = std::numeric_limits<double>::infinity();
    std::int64_t best_epoch = -1;
    double reference_loss = std::numeric_limits<double>::infinity(); // the last loss that counted as an improvement
    std::int64_t epochs_without_improvement = 0;

    // Records the validation loss of `epoch`; returns whether it is the lowest so far.
    bool record(std::int64_t epoch, double loss) {
        if (loss < reference_loss * (1 - min_relative_improvement) || best_epoch < 0) {
            reference_loss = loss;
            epochs_without_improvement = 0;
        } else {
            ++epochs_without_improvement;
        }
        if (!(loss < best_loss)) return false;
        best_loss = loss;
        best_epoch = epoch;
        return true;
    }

    bool should_stop() const { return patience > 0 && epochs_without_improvement >= patience; }

    io::Json state() const {
        return {{"best_loss", best_loss},
                {"best_epoch", best_epoch},
                {"reference_loss", reference_loss},
                {"epochs_without_improvement", epochs_without_improvement}};
    }
    void load_state(const io::Json& state) {
        // JSON has no infinity: a run saved before its first validation stores null.
        auto number = [&](const char* key) {
            return state.at(key).is_null() ? std::numeric_limits<double>::infinity() : state.at(key).get<double>();
        };
        best_loss = number("best_loss");
        reference_loss = number("reference_loss");
        best_epoch = io::json_integer(state.at("best_epoch"), "EarlyStopping::load_state: best_epoch");
        epochs_without_improvement = io::json_integer(state.at("epochs_without_improvement"),
                                                      "EarlyStopping::load_state: epochs_without_improvement");
    }
};

} // namespace clipft::train
