#pragma once
// The metrics of a scored set as the field reports them: overall, per subset (each manipulation
// against the real images) and per video (a video scores the mean of its frames), as one JSON
// object in a fixed key order, and the matching ROC curves as one plot.
#include <clipft/backends.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/eval/roc_plot.hpp>
#include <clipft/eval/video_score.hpp>
#include <clipft/io/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

struct ScoredSet {
    std::vector<int> labels;                   // 1 = positive (fake)
    std::vector<double> scores;                // higher = more likely positive
    std::vector<std::string> subsets;          // one per row, or empty: no subsets
    std::vector<std::string> videos;           // one per row, or empty: no videos
    std::vector<std::string> frames;           // one per row (empty: a frame of its own), or empty: no frames
    VideoScore video_score = VideoScore::mean; // how rows make a video's score (eval/video_score.hpp)
};

inline nlohmann::ordered_json to_json(const BinaryMetrics& metrics) {
    return {{"auc", metrics.roc_auc},
            {"ap", metrics.average_precision},
            {"eer", metrics.equal_error_rate},
            {"precision", metrics.precision},
            {"recall", metrics.recall},
            {"accuracy", metrics.accuracy},
            {"f1", metrics.f1},
            {"threshold", metrics.threshold},
            {"n_pos", metrics.positives},
            {"n_neg", metrics.negatives}};
}

struct MetricsReport {
    BinaryMetrics overall;
    std::map<std::string, BinaryMetrics> subsets; // empty without subsets
    std::optional<BinaryMetrics> videos;
    nlohmann::ordered_json json; // overall keys, then "subsets" and "videos" when present
    plot::LinePlot roc;          // all rows, each subset, videos
};

inline MetricsReport metrics_report(const ScoredSet& set, double threshold = 0.5) {
    auto curve_label = [](const std::string& name, double auc) {
        char text[32];
        std::snprintf(text, sizeof text, " (AUC %.4f)", auc);
        return name + text;
    };
    MetricsReport report{binary_metrics(set.labels, set.scores, threshold), {}, {}, {}, {}};
    report.json = to_json(report.overall);
    report.roc = roc_plot(roc_curve(set.labels, set.scores), curve_label("all", report.overall.roc_auc));
    auto add_curve = [&](const std::string& name, const std::vector<int>& labels, const std::vector<double>& scores,
                         double auc) {
        RocCurve curve = roc_curve(labels, scores);
        report.roc.add_series(curve_label(name, auc), curve.false_positive_rate, curve.true_positive_rate);
    };
    bool named_subsets =
        std::any_of(set.subsets.begin(), set.subsets.end(), [](const std::string& name) { return !name.empty(); });
    if (named_subsets) {
        report.subsets = metrics_per_subset(set.labels, set.scores, set.subsets, threshold);
        nlohmann::ordered_json subsets = nlohmann::ordered_json::object();
        for (const auto& [name, metrics] : report.subsets) subsets[name] = to_json(metrics);
        report.json["subsets"] = subsets;
        for (const auto& [name, rows] : split_by_subset(set.labels, set.scores, set.subsets))
            add_curve(name, rows.labels, rows.scores, report.subsets.at(name).roc_auc);
    }
    if (!set.videos.empty()) {
        FrameScores rows{set.labels, set.scores, set.videos};
        if (set.video_score == VideoScore::max_face_mean)
            rows = frame_max_scores(set.labels, set.scores, set.videos,
                                    set.frames.empty() ? std::vector<std::string>(set.labels.size()) : set.frames);
        report.videos = video_metrics(rows.labels, rows.scores, rows.videos, threshold);
        report.json["videos"] = to_json(*report.videos);
        report.json["video_score"] = video_score_name(set.video_score);
        VideoScores videos = video_scores(rows.labels, rows.scores, rows.videos);
        add_curve(set.video_score == VideoScore::mean ? "videos, mean score" : "videos, mean of frames' max face",
                  videos.labels, videos.scores, report.videos->roc_auc);
    }
    return report;
}

} // namespace clipft::eval
