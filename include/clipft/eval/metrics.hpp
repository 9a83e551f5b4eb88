#pragma once
// Binary classification metrics from labels (0/1, 1 = positive, e.g. fake) and scores (higher =
// more positive), in double precision, with scikit-learn's definitions (1.2.1): roc_curve with
// drop_intermediate=False, roc_auc_score, average_precision_score, and precision / recall /
// accuracy / f1 at a threshold with zero_division=0. Plus the equal error rate, and the same
// metrics per subset of the rows and per video (a video's score is the mean of its frames' scores).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

// One point per distinct score, thresholds decreasing, preceded by (0, 0) at threshold +infinity.
// Point j counts the samples whose score is >= thresholds[j] as positive.
struct RocCurve {
    std::vector<double> false_positive_rate;
    std::vector<double> true_positive_rate;
    std::vector<double> thresholds;
};

// Predictions at a threshold (positive iff score >= threshold) against the labels. A ratio whose
// denominator is zero is 0 (scikit-learn's zero_division=0).
struct Confusion {
    std::int64_t true_positives = 0, false_positives = 0, true_negatives = 0, false_negatives = 0;
    double precision = 0, recall = 0, accuracy = 0, f1 = 0;
};

struct BinaryMetrics {
    double roc_auc = 0, average_precision = 0, equal_error_rate = 0;
    double threshold = 0.5; // of precision, recall, accuracy and f1
    double precision = 0, recall = 0, accuracy = 0, f1 = 0;
    std::int64_t positives = 0, negatives = 0;
};

struct LabelledScores {
    std::vector<int> labels;
    std::vector<double> scores;
};

// Video-level data: one entry per video, in the order of their first frame.
struct VideoScores {
    std::vector<std::string> videos;
    std::vector<int> labels;
    std::vector<double> scores; // mean of the video's frame scores
    std::vector<std::int64_t> frame_counts;
};

namespace detail {

// The data seen from the top: at each distinct score in decreasing order, how many positives and
// negatives score at least that much. Every metric except the confusion counts derives from this.
struct ScoreRanking {
    std::vector<double> thresholds;
    std::vector<std::int64_t> true_positives, false_positives;
    std::int64_t positives = 0, negatives = 0;
};

// `context` starts every message, so that a failure inside a subset or video says which.
inline void check_inputs(const std::vector<int>& labels, const std::vector<double>& scores, std::string_view context) {
    if (labels.size() != scores.size())
        fail(context, ": ", labels.size(), " labels but ", scores.size(), " scores; give one score per label");
    if (labels.empty()) fail(context, ": no samples; metrics need at least one label and score");
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] != 0 && labels[i] != 1)
            fail(context, ": label ", labels[i], " at index ", i, " is neither 0 (negative) nor 1 (positive)");
        if (std::isnan(scores[i])) fail(context, ": score at index ", i, " is NaN");
    }
}

inline ScoreRanking rank_scores(const std::vector<int>& labels, const std::vector<double>& scores,
                                std::string_view context) {
    check_inputs(labels, scores, context);
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    ScoreRanking ranking;
    for (std::size_t position = 0; position < order.size(); ++position) {
        std::size_t i = order[position];
        (labels[i] == 1 ? ranking.positives : ranking.negatives) += 1;
        // Tied scores form one threshold: record the counts after the last of them.
        bool last_of_tie = position + 1 == order.size() || scores[order[position + 1]] != scores[i];
        if (!last_of_tie) continue;
        ranking.thresholds.push_back(scores[i]);
        ranking.true_positives.push_back(ranking.positives);
        ranking.false_positives.push_back(ranking.negatives);
    }
    return ranking;
}

inline void require_positives(const ScoreRanking& ranking, std::string_view context, std::string_view metric) {
    if (ranking.positives == 0)
        fail(context, ": all ", ranking.negatives, " samples are negative (label 0), none positive (label 1); ", metric,
             " is undefined without positives");
}

inline void require_both_classes(const ScoreRanking& ranking, std::string_view context, std::string_view metric) {
    require_positives(ranking, context, metric);
    if (ranking.negatives == 0)
        fail(context, ": all ", ranking.positives, " samples are positive (label 1), none negative (label 0); ", metric,
             " is undefined without negatives");
}

inline RocCurve roc_curve(const ScoreRanking& ranking) {
    RocCurve curve;
    std::size_t count = ranking.thresholds.size() + 1;
    curve.false_positive_rate.reserve(count);
    curve.true_positive_rate.reserve(count);
    curve.thresholds.reserve(count);
    curve.false_positive_rate.push_back(0.0);
    curve.true_positive_rate.push_back(0.0);
    curve.thresholds.push_back(std::numeric_limits<double>::infinity());
    for (std::size_t j = 0; j < ranking.thresholds.size(); ++j) {
        curve.false_positive_rate.push_back(double(ranking.false_positives[j]) / double(ranking.negatives));
        curve.true_positive_rate.push_back(double(ranking.true_positives[j]) / double(ranking.positives));
        curve.thresholds.push_back(ranking.thresholds[j]);
    }
    return curve;
}

// The trapezoidal area under the ROC points (a tie of positives and negatives is a diagonal
// segment), summed in whole numbers and divided once, so that it is exact up to that division.
inline double roc_auc(const ScoreRanking& ranking) {
    std::int64_t doubled_area = 0, previous_true = 0, previous_false = 0;
    for (std::size_t j = 0; j < ranking.thresholds.size(); ++j) {
        doubled_area += (ranking.false_positives[j] - previous_false) * (ranking.true_positives[j] + previous_true);
        previous_true = ranking.true_positives[j];
        previous_false = ranking.false_positives[j];
    }
    return double(doubled_area) / (2.0 * double(ranking.positives) * double(ranking.negatives));
}

// sum_k (R_k - R_{k-1}) P_k over the distinct thresholds, without interpolation.
inline double average_precision(const ScoreRanking& ranking) {
    double sum = 0;
    std::int64_t previous_true = 0;
    for (std::size_t j = 0; j < ranking.thresholds.size(); ++j) {
        std::int64_t true_positives = ranking.true_positives[j];
        if (true_positives == previous_true) continue;
        double precision = double(true_positives) / double(true_positives + ranking.false_positives[j]);
        sum += double(true_positives - previous_true) * precision;
        previous_true = true_positives;
    }
    return sum / double(ranking.positives);
}

// Where the false negative rate (1 - tpr) meets the false positive rate, interpolating linearly
// between the two ROC points where fpr - fnr changes sign.
inline double equal_error_rate(const RocCurve& curve) {
    const std::vector<double>& fpr = curve.false_positive_rate;
    const std::vector<double>& tpr = curve.true_positive_rate;
    std::size_t i = 0;
    while (1.0 - tpr[i] > fpr[i]) ++i; // ends: the last point is (1, 1)
    if (i == 0) return (fpr[0] + 1.0 - tpr[0]) / 2.0;
    double before = fpr[i - 1] - (1.0 - tpr[i - 1]), after = fpr[i] - (1.0 - tpr[i]);
    double t = before / (before - after);
    return fpr[i - 1] + t * (fpr[i] - fpr[i - 1]);
}

inline Confusion confusion_at(const std::vector<int>& labels, const std::vector<double>& scores, double threshold) {
    Confusion result;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        bool predicted_positive = scores[i] >= threshold;
        if (labels[i] == 1)
            (predicted_positive ? result.true_positives : result.false_negatives) += 1;
        else
            (predicted_positive ? result.false_positives : result.true_negatives) += 1;
    }
    auto ratio = [](std::int64_t numerator, std::int64_t denominator) {
        return denominator == 0 ? 0.0 : double(numerator) / double(denominator);
    };
    result.precision = ratio(result.true_positives, result.true_positives + result.false_positives);
    result.recall = ratio(result.true_positives, result.true_positives + result.false_negatives);
    result.accuracy = ratio(result.true_positives + result.true_negatives, std::int64_t(labels.size()));
    // 2PR / (P + R) written with counts: the same value, and 0 exactly when both are 0.
    result.f1 =
        ratio(2 * result.true_positives, 2 * result.true_positives + result.false_positives + result.false_negatives);
    return result;
}

inline BinaryMetrics binary_metrics(const std::vector<int>& labels, const std::vector<double>& scores, double threshold,
                                    std::string_view context) {
    ScoreRanking ranking = rank_scores(labels, scores, context);
    require_both_classes(ranking, context, "ROC AUC");
    Confusion confusion = confusion_at(labels, scores, threshold);
    BinaryMetrics metrics;
    metrics.roc_auc = roc_auc(ranking);
    metrics.average_precision = average_precision(ranking);
    metrics.equal_error_rate = equal_error_rate(roc_curve(ranking));
    metrics.threshold = threshold;
    metrics.precision = confusion.precision;
    metrics.recall = confusion.recall;
    metrics.accuracy = confusion.accuracy;
    metrics.f1 = confusion.f1;
    metrics.positives = ranking.positives;
    metrics.negatives = ranking.negatives;
    return metrics;
}

} // namespace detail

// Throws when sizes differ, the input is empty, a label is not 0/1, a score is NaN, or one class
// is missing (the rates would divide by zero).
inline RocCurve roc_curve(const std::vector<int>& labels, const std::vector<double>& scores) {
    detail::ScoreRanking ranking = detail::rank_scores(labels, scores, "roc_curve");
    detail::require_both_classes(ranking, "roc_curve", "the ROC curve");
    return detail::roc_curve(ranking);
}

// The probability that a random positive scores higher than a random negative, ties counting 1/2.
inline double roc_auc(const std::vector<int>& labels, const std::vector<double>& scores) {
    detail::ScoreRanking ranking = detail::rank_scores(labels, scores, "roc_auc");
    detail::require_both_classes(ranking, "roc_auc", "ROC AUC");
    return detail::roc_auc(ranking);
}

// Needs positives only: without negatives every precision is 1.
inline double average_precision(const std::vector<int>& labels, const std::vector<double>& scores) {
    detail::ScoreRanking ranking = detail::rank_scores(labels, scores, "average_precision");
    detail::require_positives(ranking, "average_precision", "average precision");
    return detail::average_precision(ranking);
}

inline double equal_error_rate(const std::vector<int>& labels, const std::vector<double>& scores) {
    detail::ScoreRanking ranking = detail::rank_scores(labels, scores, "equal_error_rate");
    detail::require_both_classes(ranking, "equal_error_rate", "the equal error rate");
    return detail::equal_error_rate(detail::roc_curve(ranking));
}

// Defined for any non-empty input, one class included.
inline Confusion confusion_at(const std::vector<int>& labels, const std::vector<double>& scores,
                              double threshold = 0.5) {
    detail::check_inputs(labels, scores, "confusion_at");
    return detail::confusion_at(labels, scores, threshold);
}

// Everything at once; needs both classes.
inline BinaryMetrics binary_metrics(const std::vector<int>& labels, const std::vector<double>& scores,
                                    double threshold = 0.5) {
    return detail::binary_metrics(labels, scores, threshold, "binary_metrics");
}

// The rows of each subset (subsets[i] names the subset of row i) that holds positives, by subset
// name, as the field reports per-manipulation results: a subset without negatives of its own (the
// fakes of one manipulation) is scored against every negative (all real images, whatever subset
// or folder they came from). Subsets of negatives only are not reported on their own.
inline std::map<std::string, LabelledScores> split_by_subset(const std::vector<int>& labels,
                                                             const std::vector<double>& scores,
                                                             const std::vector<std::string>& subsets) {
    if (subsets.size() != labels.size() || scores.size() != labels.size())
        fail("split_by_subset: ", labels.size(), " labels, ", scores.size(), " scores and ", subsets.size(),
             " subset names; give one of each per row");
    std::map<std::string, LabelledScores> result;
    std::map<std::string, bool> has_negatives;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] == 1) result[subsets[i]];
        if (labels[i] == 0) has_negatives[subsets[i]] = true;
    }
    for (std::size_t i = 0; i < labels.size(); ++i)
        for (auto& [name, rows] : result)
            if (subsets[i] == name || (labels[i] == 0 && !has_negatives[name])) {
                rows.labels.push_back(labels[i]);
                rows.scores.push_back(scores[i]);
            }
    return result;
}

// The metrics of each subset that holds positives (see split_by_subset), by subset name. Every subset needs both
// classes; an error names the subset.
inline std::map<std::string, BinaryMetrics> metrics_per_subset(const std::vector<int>& labels,
                                                               const std::vector<double>& scores,
                                                               const std::vector<std::string>& subsets,
                                                               double threshold = 0.5) {
    std::map<std::string, BinaryMetrics> result;
    for (const auto& [name, rows] : split_by_subset(labels, scores, subsets))
        result[name] = detail::binary_metrics(rows.labels, rows.scores, threshold, "metrics of subset '" + name + "'");
    return result;
}

// Frames to videos (videos[i] names the video of row i): a video's score is the mean of its frame
// scores, its label its frames' label. Throws when a video's frames carry different labels.
inline VideoScores video_scores(const std::vector<int>& labels, const std::vector<double>& scores,
                                const std::vector<std::string>& videos) {
    detail::check_inputs(labels, scores, "video_scores");
    if (videos.size() != labels.size())
        fail("video_scores: ", videos.size(), " video names but ", labels.size(), " labels; give one per row");
    VideoScores result;
    std::unordered_map<std::string, std::size_t> index_of;
    std::vector<std::size_t> first_row;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        auto [found, added] = index_of.try_emplace(videos[i], result.videos.size());
        std::size_t video = found->second;
        if (added) {
            result.videos.push_back(videos[i]);
            result.labels.push_back(labels[i]);
            result.scores.push_back(0.0);
            result.frame_counts.push_back(0);
            first_row.push_back(i);
        } else if (result.labels[video] != labels[i]) {
            fail("video_scores: video '", videos[i], "' has frames labelled ", result.labels[video], " (index ",
                 first_row[video], ") and ", labels[i], " (index ", i, "); a video's frames must share one label");
        }
        result.scores[video] += scores[i];
        result.frame_counts[video] += 1;
    }
    for (std::size_t video = 0; video < result.videos.size(); ++video)
        result.scores[video] /= double(result.frame_counts[video]);
    return result;
}

// The metrics of the videos, from their mean frame scores.
inline BinaryMetrics video_metrics(const std::vector<int>& labels, const std::vector<double>& scores,
                                   const std::vector<std::string>& videos, double threshold = 0.5) {
    VideoScores per_video = video_scores(labels, scores, videos);
    return detail::binary_metrics(per_video.labels, per_video.scores, threshold, "video_metrics");
}

} // namespace clipft::eval
