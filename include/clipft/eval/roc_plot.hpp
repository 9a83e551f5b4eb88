#pragma once
// ROC curves as a line plot. Here rather than in plot/, so that the plotting layer knows nothing
// of metrics.
#include <clipft/backends.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/plot/svg.hpp>

#include <string>

namespace clipft::inline CLIPFT_BACKENDS::eval {

// Both axes fixed to [0, 1], the chance diagonal dashed (unnamed: not in the legend), and `curve`
// as the series `label`. More curves can be added with add_series(name, fpr, tpr).
inline plot::LinePlot roc_plot(const RocCurve& curve, const std::string& label) {
    plot::LinePlot result;
    result.title = "ROC curve";
    result.x_label = "False positive rate";
    result.y_label = "True positive rate";
    result.x_range = plot::AxisRange{0, 1};
    result.y_range = plot::AxisRange{0, 1};
    result.legend_corner = plot::LegendCorner::bottom_right; // ROC curves bend towards the top left
    result.width = result.height = 520;
    result.series.push_back({.name = "", .x = {0, 1}, .y = {0, 1}, .colour = "#999999", .dashed = true});
    result.add_series(label, curve.false_positive_rate, curve.true_positive_rate);
    return result;
}

} // namespace clipft::eval
