#pragma once
// Line plots as standalone SVG files (training curves, ROC curves), with no dependency beyond the
// standard library: named series in distinct colours with a legend, axis labels, and ticks at
// "nice" values (1, 2 or 5 times a power of ten). Non-finite points are left out and break the
// line there, so a NaN loss shows as a gap instead of corrupting the file.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/atomic_file.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::plot {

struct AxisRange {
    double min = 0, max = 1;
};

struct Series {
    std::string name; // the legend entry; a series without a name stays out of the legend
    std::vector<double> x, y;
    std::string colour; // an SVG colour; empty: the plot's palette colour for this series
    bool dashed = false;
};

enum class LegendCorner { top_right, top_left, bottom_right, bottom_left };

// Tick values at one step of 1, 2 or 5 times a power of ten, about `target_count` of them.
struct Ticks {
    std::vector<double> values;
    double step = 1;
};

namespace detail {

// The 1-2-5 number near `value`: the nearest one (round) or the smallest one not below it.
inline double nice_number(double value, bool round) {
    double power = std::pow(10.0, std::floor(std::log10(value)));
    double fraction = value / power;
    if (round) return power * (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10);
    return power * (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10);
}

inline std::string format_number(const char* format, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

// Coordinates to 0.01 px: finer than any screen, short in the file.
inline std::string coordinate(double value) { return format_number("%.2f", value); }

inline std::string escape_xml(std::string_view text) {
    std::string escaped;
    escaped.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&':
            escaped += "&amp;";
            break;
        case '<':
            escaped += "&lt;";
            break;
        case '>':
            escaped += "&gt;";
            break;
        case '"':
            escaped += "&quot;";
            break;
        case '\'':
            escaped += "&apos;";
            break;
        default:
            escaped += c;
        }
    }
    return escaped;
}

// Colours of matplotlib's default cycle: distinct, and readable on white.
inline constexpr std::array<const char*, 10> palette{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

} // namespace detail

// Ticks for the interval [min, max]. extend = true (axes fitted to data): the first tick is at or
// below min and the last at or above max, and the axis should span them. extend = false (fixed
// axes): only the ticks inside [min, max].
inline Ticks nice_ticks(double min, double max, bool extend, int target_count = 6) {
    if (!std::isfinite(max - min) || !(min < max))
        fail("nice_ticks: the interval [", min, ", ", max, "] must be finite with min < max");
    if (target_count < 2) fail("nice_ticks: target_count ", target_count, " must be at least 2");
    Ticks ticks;
    ticks.step = detail::nice_number(detail::nice_number(max - min, false) / double(target_count - 1), true);
    // Ticks are whole multiples of the step, computed from their index so that no error accumulates;
    // the 1e-9 keeps a bound that is a multiple up to rounding from gaining or losing a tick.
    double first = extend ? std::floor(min / ticks.step + 1e-9) : std::ceil(min / ticks.step - 1e-9);
    double last = extend ? std::ceil(max / ticks.step - 1e-9) : std::floor(max / ticks.step + 1e-9);
    for (double index = first; index <= last; index += 1) {
        double value = index * ticks.step;
        ticks.values.push_back(value == 0 ? 0.0 : value); // no "-0"
    }
    return ticks;
}

// A tick label with as many decimals as the step needs: 0.2 for step 0.2, 15 for step 5.
inline std::string format_tick(double value, double step) {
    int exponent = int(std::floor(std::log10(step) + 1e-9));
    if (exponent < -6 || exponent > 6) return detail::format_number("%g", value);
    std::string format = "%." + std::to_string(std::max(0, -exponent)) + "f";
    return detail::format_number(format.c_str(), value);
}

class LinePlot {
public:
    std::string title, x_label, y_label;
    std::optional<AxisRange> x_range, y_range; // fixed axes; otherwise fitted to the data at nice ticks
    LegendCorner legend_corner = LegendCorner::top_right;
    int width = 640, height = 480; // pixels
    std::vector<Series> series;

    Series& add_series(std::string name, std::vector<double> x, std::vector<double> y) {
        Series added;
        added.name = std::move(name), added.x = std::move(x), added.y = std::move(y);
        check_series(added);
        series.push_back(std::move(added));
        return series.back();
    }

    std::string to_svg() const {
        for (const Series& one : series) check_series(one);
        if (width < 200 || height < 150)
            fail("LinePlot '", title, "': ", width, " x ", height, " pixels is too small; use at least 200 x 150");
        Frame frame = make_frame();
        std::string svg;
        svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
               std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
               "\" font-family=\"sans-serif\" font-size=\"12\">\n";
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
        if (!title.empty())
            svg += "<text class=\"title\" x=\"" + detail::coordinate(width / 2.0) +
                   "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + detail::escape_xml(title) + "</text>\n";
        add_axes(svg, frame);
        add_series_lines(svg, frame);
        add_legend(svg, frame);
        svg += "</svg>\n";
        return svg;
    }

    void save(const std::filesystem::path& path) const {
        std::string svg = to_svg();
        io::write_file_atomically(path, [&](io::FileWriter& writer) { writer.write(svg); });
    }

private:
    static constexpr double left_margin = 70, right_margin = 20, top_margin = 40, bottom_margin = 55;

    struct Axis {
        double min, max;
        Ticks ticks;
    };

    // Where the data lands on the page.
    struct Frame {
        Axis x, y;
        double left, top, right, bottom;
        double page_x(double value) const { return left + (value - x.min) / (x.max - x.min) * (right - left); }
        double page_y(double value) const { return bottom - (value - y.min) / (y.max - y.min) * (bottom - top); }
    };

    void check_series(const Series& one) const {
        if (one.x.size() != one.y.size())
            fail("LinePlot '", title, "': series '", one.name, "' has ", one.x.size(), " x values but ", one.y.size(),
                 " y values; give one y per x");
    }

    static Axis make_axis(const std::optional<AxisRange>& fixed, double data_min, double data_max, const char* which) {
        if (fixed) {
            if (!std::isfinite(fixed->min) || !std::isfinite(fixed->max) || !(fixed->min < fixed->max))
                fail("LinePlot: the fixed ", which, " range [", fixed->min, ", ", fixed->max,
                     "] must be finite with min < max");
            return {fixed->min, fixed->max, nice_ticks(fixed->min, fixed->max, false)};
        }
        if (data_min > data_max) data_min = 0, data_max = 1; // no finite point: a unit axis
        if (data_min == data_max) {
            double margin = data_min == 0 ? 1 : std::abs(data_min) * 0.1;
            data_min -= margin;
            data_max += margin;
        }
        Ticks ticks = nice_ticks(data_min, data_max, true);
        return {ticks.values.front(), ticks.values.back(), ticks};
    }

    Frame make_frame() const {
        constexpr double infinity = std::numeric_limits<double>::infinity();
        double x_min = infinity, x_max = -infinity, y_min = infinity, y_max = -infinity;
        for (const Series& one : series)
            for (std::size_t i = 0; i < one.x.size(); ++i) {
                if (!std::isfinite(one.x[i]) || !std::isfinite(one.y[i])) continue;
                x_min = std::min(x_min, one.x[i]), x_max = std::max(x_max, one.x[i]);
                y_min = std::min(y_min, one.y[i]), y_max = std::max(y_max, one.y[i]);
            }
        return {make_axis(x_range, x_min, x_max, "x"),
                make_axis(y_range, y_min, y_max, "y"),
                left_margin,
                top_margin,
                width - right_margin,
                height - bottom_margin};
    }

    void add_axes(std::string& svg, const Frame& frame) const {
        using detail::coordinate;
        svg += "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n";
        for (double value : frame.x.ticks.values)
            svg += "<line x1=\"" + coordinate(frame.page_x(value)) + "\" y1=\"" + coordinate(frame.top) + "\" x2=\"" +
                   coordinate(frame.page_x(value)) + "\" y2=\"" + coordinate(frame.bottom) + "\"/>\n";
        for (double value : frame.y.ticks.values)
            svg += "<line x1=\"" + coordinate(frame.left) + "\" y1=\"" + coordinate(frame.page_y(value)) + "\" x2=\"" +
                   coordinate(frame.right) + "\" y2=\"" + coordinate(frame.page_y(value)) + "\"/>\n";
        svg += "</g>\n";
        svg += "<rect class=\"frame\" x=\"" + coordinate(frame.left) + "\" y=\"" + coordinate(frame.top) +
               "\" width=\"" + coordinate(frame.right - frame.left) + "\" height=\"" +
               coordinate(frame.bottom - frame.top) + "\" fill=\"none\" stroke=\"black\"/>\n";
        svg += "<g class=\"x-ticks\" text-anchor=\"middle\">\n";
        for (double value : frame.x.ticks.values)
            svg += "<text x=\"" + coordinate(frame.page_x(value)) + "\" y=\"" + coordinate(frame.bottom + 16) + "\">" +
                   format_tick(value, frame.x.ticks.step) + "</text>\n";
        svg += "</g>\n<g class=\"y-ticks\" text-anchor=\"end\">\n";
        for (double value : frame.y.ticks.values)
            svg += "<text x=\"" + coordinate(frame.left - 6) + "\" y=\"" + coordinate(frame.page_y(value) + 4) + "\">" +
                   format_tick(value, frame.y.ticks.step) + "</text>\n";
        svg += "</g>\n";
        if (!x_label.empty())
            svg += "<text class=\"x-label\" x=\"" + coordinate((frame.left + frame.right) / 2) + "\" y=\"" +
                   coordinate(height - 14.0) + "\" text-anchor=\"middle\">" + detail::escape_xml(x_label) + "</text>\n";
        if (!y_label.empty()) {
            std::string x = "18", y = coordinate((frame.top + frame.bottom) / 2);
            svg += "<text class=\"y-label\" x=\"" + x + "\" y=\"" + y + "\" transform=\"rotate(-90 " + x + " " + y +
                   ")\" text-anchor=\"middle\">" + detail::escape_xml(y_label) + "</text>\n";
        }
    }

    // Palette colours go to the series without a colour of their own, in order.
    std::size_t palette_index(std::size_t index) const {
        return std::size_t(std::count_if(series.begin(), series.begin() + std::ptrdiff_t(index),
                                         [](const Series& one) { return one.colour.empty(); }));
    }

    std::string colour_of(std::size_t index) const {
        if (!series[index].colour.empty()) return series[index].colour;
        return detail::palette[palette_index(index) % detail::palette.size()];
    }

    // Beyond the palette's length colours repeat; dashing the repeats keeps the lines apart.
    bool dashed(std::size_t index) const {
        return series[index].dashed || (series[index].colour.empty() && palette_index(index) >= detail::palette.size());
    }

    void add_series_lines(std::string& svg, const Frame& frame) const {
        using detail::coordinate;
        // Lines are clipped to the frame, so fixed ranges may cut through data; the clip reaches a
        // line's width beyond it, so that a line along an edge (ROC curves at 0 and 1) shows whole.
        double reach = 2;
        svg += "<defs><clipPath id=\"clipft-plot-area\"><rect x=\"" + coordinate(frame.left - reach) + "\" y=\"" +
               coordinate(frame.top - reach) + "\" width=\"" + coordinate(frame.right - frame.left + 2 * reach) +
               "\" height=\"" + coordinate(frame.bottom - frame.top + 2 * reach) + "\"/></clipPath></defs>\n";
        svg +=
            "<g clip-path=\"url(#clipft-plot-area)\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\">\n";
        for (std::size_t index = 0; index < series.size(); ++index) {
            const Series& one = series[index];
            std::string style = " stroke=\"" + detail::escape_xml(colour_of(index)) + "\"" +
                                (dashed(index) ? " stroke-dasharray=\"6 4\"" : "");
            svg += "<g class=\"series\" data-name=\"" + detail::escape_xml(one.name) + "\"" + style + ">\n";
            // Runs of finite points become polylines; a run of one point, a dot.
            std::vector<std::pair<double, double>> run;
            auto flush = [&] {
                if (run.size() == 1)
                    svg += "<circle cx=\"" + coordinate(run[0].first) + "\" cy=\"" + coordinate(run[0].second) +
                           "\" r=\"2.5\" fill=\"" + detail::escape_xml(colour_of(index)) + "\"/>\n";
                if (run.size() > 1) {
                    svg += "<polyline points=\"";
                    for (std::size_t i = 0; i < run.size(); ++i)
                        svg += (i ? " " : "") + coordinate(run[i].first) + "," + coordinate(run[i].second);
                    svg += "\"/>\n";
                }
                run.clear();
            };
            for (std::size_t i = 0; i < one.x.size(); ++i) {
                if (std::isfinite(one.x[i]) && std::isfinite(one.y[i]))
                    run.emplace_back(frame.page_x(one.x[i]), frame.page_y(one.y[i]));
                else
                    flush();
            }
            flush();
            svg += "</g>\n";
        }
        svg += "</g>\n";
    }

    void add_legend(std::string& svg, const Frame& frame) const {
        using detail::coordinate;
        std::vector<std::size_t> entries;
        std::size_t longest = 0;
        for (std::size_t index = 0; index < series.size(); ++index)
            if (!series[index].name.empty())
                entries.push_back(index), longest = std::max(longest, series[index].name.size());
        if (entries.empty()) return;
        // Text width estimated at 7 px per character (12 px sans-serif): no font metrics without a renderer.
        double row = 18, box_width = 40 + 7.0 * double(longest), box_height = 8 + row * double(entries.size());
        bool right = legend_corner == LegendCorner::top_right || legend_corner == LegendCorner::bottom_right;
        bool top = legend_corner == LegendCorner::top_right || legend_corner == LegendCorner::top_left;
        double x = right ? frame.right - 10 - box_width : frame.left + 10;
        double y = top ? frame.top + 10 : frame.bottom - 10 - box_height;
        svg += "<g class=\"legend\">\n<rect x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) + "\" width=\"" +
               coordinate(box_width) + "\" height=\"" + coordinate(box_height) +
               "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999999\"/>\n";
        for (std::size_t entry = 0; entry < entries.size(); ++entry) {
            std::size_t index = entries[entry];
            double middle = y + 4 + row * (double(entry) + 0.5);
            svg += "<line x1=\"" + coordinate(x + 8) + "\" y1=\"" + coordinate(middle) + "\" x2=\"" +
                   coordinate(x + 30) + "\" y2=\"" + coordinate(middle) + "\" stroke=\"" +
                   detail::escape_xml(colour_of(index)) + "\" stroke-width=\"1.8\"" +
                   (dashed(index) ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
            svg += "<text x=\"" + coordinate(x + 36) + "\" y=\"" + coordinate(middle + 4) + "\">" +
                   detail::escape_xml(series[index].name) + "</text>\n";
        }
        svg += "</g>\n";
    }
};

} // namespace clipft::plot
