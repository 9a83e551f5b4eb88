// ROC plots: the curve's points on fixed unit axes, with the chance diagonal.
#include <clipft/eval/roc_plot.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace clipft;

TEST_CASE("roc_plot draws the curve on unit axes with a dashed diagonal") {
    eval::RocCurve curve;
    curve.false_positive_rate = {0, 0, 0.5, 1};
    curve.true_positive_rate = {0, 0.5, 1, 1};
    curve.thresholds = {INFINITY, 0.9, 0.4, 0.1};
    plot::LinePlot figure = eval::roc_plot(curve, "model (AUC 0.875)");

    CHECK(figure.x_range.has_value());
    CHECK(figure.x_range->min == 0);
    CHECK(figure.x_range->max == 1);
    CHECK(figure.y_range->min == 0);
    CHECK(figure.y_range->max == 1);
    REQUIRE(figure.series.size() == 2);
    CHECK(figure.series[0].name.empty()); // the diagonal stays out of the legend
    CHECK(figure.series[0].dashed);
    CHECK(figure.series[0].x == std::vector<double>{0, 1});
    CHECK(figure.series[0].y == std::vector<double>{0, 1});
    CHECK(figure.series[1].name == "model (AUC 0.875)");
    CHECK(figure.series[1].x == curve.false_positive_rate);
    CHECK(figure.series[1].y == curve.true_positive_rate);

    std::string svg = figure.to_svg();
    CHECK(svg.find(">False positive rate</text>") != std::string::npos);
    CHECK(svg.find(">True positive rate</text>") != std::string::npos);
    CHECK(svg.find("stroke-dasharray") != std::string::npos);
    // Plot area 70..500 x 40..465 (520 x 520 pixels): (0.5, 1) lands at x 285, y 40.
    CHECK(svg.find(" 285.00,40.00 ") != std::string::npos);
}
