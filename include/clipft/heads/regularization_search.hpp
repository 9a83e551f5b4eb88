#pragma once
// Choosing logistic regression's C as UnivFD does: fit on part of the training features for each C
// of a log grid and keep the C whose fit has the lowest cross-entropy on the rest, the split made by
// video (data::Dataset::split_by_video) so that frames of one video never sit on both sides.
#include <clipft/backends.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/heads/feature_cache.hpp>
#include <clipft/heads/logistic_regression.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

struct RegularizationTrial {
    double C = 1;
    double validation_cross_entropy = 0;
};

struct RegularizationChoice {
    double C = 1;
    std::vector<RegularizationTrial> trials;
};

inline const std::vector<double>& default_C_grid() {
    static const std::vector<double> grid{1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4};
    return grid;
}

// The rows of features [N, D] listed in `rows`, in that order.
inline Tensor<float> select_rows(const Tensor<float>& features, const std::vector<std::int64_t>& rows) {
    const std::int64_t width = features.size(1);
    Tensor<float> dense = features.contiguous(), result = Tensor<float>::empty({std::int64_t(rows.size()), width});
    for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy_n(dense.data() + rows[r] * width, width, result.data() + std::int64_t(r) * width);
    return result;
}

// Mean cross-entropy of probabilities [N, K] against labels.
inline double cross_entropy(const Tensor<float>& probabilities, const std::vector<std::int64_t>& labels) {
    Tensor<float> p = probabilities.contiguous();
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
        sum -= std::log(std::max(1e-15, double(p.data()[std::int64_t(i) * p.size(1) + labels[i]])));
    return sum / double(labels.size());
}

// `on_trial` (optional) hears each C's result as it comes. `options.C` is ignored.
inline RegularizationChoice choose_C(const FeatureSet& set, const std::vector<double>& grid, double held_out_fraction,
                                     std::uint64_t seed, LogisticRegressionOptions options = {},
                                     const std::function<void(const RegularizationTrial&)>& on_trial = {}) {
    if (grid.empty()) fail("choose_C: the grid of C values is empty");
    auto [train, validation] = set.dataset.split_by_video(held_out_fraction, seed);
    // Samples back to rows (a path may be listed more than once: its rows in order).
    std::map<std::string, std::vector<std::int64_t>> rows_of_path;
    for (std::size_t i = set.dataset.size(); i-- > 0;)
        rows_of_path[set.dataset.samples[i].path.string()].push_back(std::int64_t(i));
    auto rows_of = [&](const data::Dataset& part, std::vector<std::int64_t>& labels) {
        std::vector<std::int64_t> rows;
        for (const data::Sample& sample : part.samples) {
            std::vector<std::int64_t>& left = rows_of_path.at(sample.path.string());
            rows.push_back(left.back());
            left.pop_back();
            labels.push_back(set.labels[std::size_t(rows.back())]);
        }
        return rows;
    };
    std::vector<std::int64_t> train_labels, validation_labels;
    Tensor<float> train_features = select_rows(set.features, rows_of(train, train_labels));
    Tensor<float> validation_features = select_rows(set.features, rows_of(validation, validation_labels));
    RegularizationChoice choice;
    double best = INFINITY;
    for (double C : grid) {
        options.C = C;
        LogisticRegressionFit fit =
            fit_logistic_regression(train_features, train_labels, std::int64_t(set.classes.size()), options);
        RegularizationTrial trial{C, cross_entropy(fit.probe.probabilities(validation_features), validation_labels)};
        choice.trials.push_back(trial);
        if (on_trial) on_trial(trial);
        if (trial.validation_cross_entropy < best) best = trial.validation_cross_entropy, choice.C = C;
    }
    return choice;
}

} // namespace clipft::heads
