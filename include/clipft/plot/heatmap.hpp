#pragma once
// Heatmaps as standalone SVG files (e.g. the cosine similarities of description embeddings, thesis
// Figure 7): one square cell per matrix entry coloured on matplotlib's viridis scale, its value
// written in it, row and column labels, axis labels, and a colour-scale legend with ticks. NaN
// cells are grey and carry no value, so a missing entry cannot pass for a small one.
#include <clipft/backends.hpp>
#include <clipft/plot/svg.hpp>

namespace clipft::inline CLIPFT_BACKENDS::plot {

namespace detail {

// Viridis sampled at 9 evenly spaced points (0, 1/8, ..., 1); colours between them are interpolated
// linearly, which stays within a few levels of the full 256-entry table.
inline constexpr std::array<std::array<int, 3>, 9> viridis_points{{{0x44, 0x01, 0x54},
                                                                   {0x47, 0x2d, 0x7b},
                                                                   {0x3b, 0x52, 0x8b},
                                                                   {0x2c, 0x72, 0x8e},
                                                                   {0x21, 0x90, 0x8c},
                                                                   {0x27, 0xad, 0x81},
                                                                   {0x5d, 0xc8, 0x63},
                                                                   {0xaa, 0xdc, 0x32},
                                                                   {0xfd, 0xe7, 0x25}}};

inline std::array<int, 3> viridis_rgb(double fraction) {
    double position = std::clamp(std::isnan(fraction) ? 0.0 : fraction, 0.0, 1.0) * double(viridis_points.size() - 1);
    std::size_t below = std::min(std::size_t(position), viridis_points.size() - 2);
    double t = position - double(below);
    std::array<int, 3> rgb{};
    for (std::size_t c = 0; c < 3; ++c)
        rgb[c] =
            int(std::lround(viridis_points[below][c] + t * (viridis_points[below + 1][c] - viridis_points[below][c])));
    return rgb;
}

inline std::string hex_colour(const std::array<int, 3>& rgb) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    return buffer;
}

} // namespace detail

// The colour at `fraction` of the viridis scale (0: dark violet, 1: yellow; clamped), as "#rrggbb".
inline std::string viridis(double fraction) { return detail::hex_colour(detail::viridis_rgb(fraction)); }

class Heatmap {
public:
    std::string title, x_label, y_label;
    std::vector<std::vector<double>> values;            // values[row][column]; every row as long
    std::vector<std::string> row_labels, column_labels; // empty: 0, 1, 2, ...
    std::optional<AxisRange> value_range;               // the colour scale; otherwise the finite values' min to max
    bool show_values = true;                            // each cell's value, with `decimals` decimals
    int decimals = 2;
    int cell_size = 34; // pixels

    std::string to_svg() const {
        check();
        Layout layout = make_layout();
        std::string svg;
        svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + detail::coordinate(layout.width) +
               "\" height=\"" + detail::coordinate(layout.height) + "\" viewBox=\"0 0 " +
               detail::coordinate(layout.width) + " " + detail::coordinate(layout.height) +
               "\" font-family=\"sans-serif\" font-size=\"12\">\n";
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
        if (!title.empty())
            svg += "<text class=\"title\" x=\"" + detail::coordinate(layout.width / 2) +
                   "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + detail::escape_xml(title) + "</text>\n";
        add_cells(svg, layout);
        add_labels(svg, layout);
        add_scale(svg, layout);
        svg += "</svg>\n";
        return svg;
    }

    void save(const std::filesystem::path& path) const {
        std::string svg = to_svg();
        io::write_file_atomically(path, [&](io::FileWriter& writer) { writer.write(svg); });
    }

    // The colour scale in use: value_range, else the finite values' min to max (widened when they are all equal).
    AxisRange scale() const {
        if (value_range) return *value_range;
        double low = std::numeric_limits<double>::infinity(), high = -low;
        for (const auto& row : values)
            for (double value : row)
                if (std::isfinite(value)) low = std::min(low, value), high = std::max(high, value);
        if (low > high) return {0, 1};
        if (low == high) return {low - 0.5, high + 0.5};
        return {low, high};
    }

private:
    static constexpr double margin = 12, axis_label_space = 22, character_width = 7, scale_width = 16, scale_gap = 18;

    struct Layout {
        double grid_left, grid_top, grid_width, grid_height;
        double scale_left, width, height;
        bool rotate_column_labels;
        std::vector<std::string> rows, columns;
    };

    void check() const {
        if (values.empty() || values.front().empty())
            fail("Heatmap '", title, "': no values; give at least one row with at least one value");
        for (std::size_t row = 0; row < values.size(); ++row)
            if (values[row].size() != values.front().size())
                fail("Heatmap '", title, "': row ", row, " has ", values[row].size(), " values, row 0 has ",
                     values.front().size(), "; every row needs as many");
        if (!row_labels.empty() && row_labels.size() != values.size())
            fail("Heatmap '", title, "': ", row_labels.size(), " row labels for ", values.size(), " rows");
        if (!column_labels.empty() && column_labels.size() != values.front().size())
            fail("Heatmap '", title, "': ", column_labels.size(), " column labels for ", values.front().size(),
                 " columns");
        if (value_range && !(std::isfinite(value_range->min) && std::isfinite(value_range->max) &&
                             value_range->min < value_range->max))
            fail("Heatmap '", title, "': the value range [", value_range->min, ", ", value_range->max,
                 "] must be finite with min < max");
        if (cell_size < 8) fail("Heatmap '", title, "': cell_size ", cell_size, " is too small; use at least 8 pixels");
        if (decimals < 0 || decimals > 6) fail("Heatmap '", title, "': decimals ", decimals, " must be within 0..6");
    }

    static std::vector<std::string> labels_or_indices(const std::vector<std::string>& labels, std::size_t count) {
        if (!labels.empty()) return labels;
        std::vector<std::string> indices;
        for (std::size_t i = 0; i < count; ++i) indices.push_back(std::to_string(i));
        return indices;
    }

    static double longest(const std::vector<std::string>& labels) {
        std::size_t characters = 0;
        for (const std::string& label : labels) characters = std::max(characters, label.size());
        return double(characters) * character_width; // no font metrics without a renderer
    }

    Layout make_layout() const {
        Layout layout;
        layout.rows = labels_or_indices(row_labels, values.size());
        layout.columns = labels_or_indices(column_labels, values.front().size());
        const double cell = cell_size;
        // Column labels wider than a cell are turned to read upwards.
        layout.rotate_column_labels = longest(layout.columns) > cell - 4;
        double column_label_height = layout.rotate_column_labels ? longest(layout.columns) + 8 : 18;
        layout.grid_left = margin + (y_label.empty() ? 0 : axis_label_space) + longest(layout.rows) + 8;
        layout.grid_top = title.empty() ? margin : 40;
        layout.grid_width = cell * double(layout.columns.size());
        layout.grid_height = cell * double(layout.rows.size());
        layout.scale_left = layout.grid_left + layout.grid_width + scale_gap;
        double tick_characters = 0;
        Ticks ticks = scale_ticks();
        for (double tick : ticks.values)
            tick_characters = std::max(tick_characters, double(format_tick(tick, ticks.step).size()));
        layout.width = layout.scale_left + scale_width + 8 + tick_characters * character_width + margin;
        layout.height = layout.grid_top + layout.grid_height + column_label_height +
                        (x_label.empty() ? 0 : axis_label_space) + margin;
        return layout;
    }

    Ticks scale_ticks() const {
        AxisRange range = scale();
        return nice_ticks(range.min, range.max, false, 5);
    }

    double fraction_of(double value) const {
        AxisRange range = scale();
        return (value - range.min) / (range.max - range.min);
    }

    void add_cells(std::string& svg, const Layout& layout) const {
        using detail::coordinate;
        const double cell = cell_size;
        const std::string value_format = "%." + std::to_string(decimals) + "f";
        svg += "<g class=\"cells\">\n";
        for (std::size_t row = 0; row < values.size(); ++row)
            for (std::size_t column = 0; column < values[row].size(); ++column) {
                double value = values[row][column], x = layout.grid_left + cell * double(column),
                       y = layout.grid_top + cell * double(row);
                bool finite = std::isfinite(value);
                std::array<int, 3> rgb =
                    finite ? detail::viridis_rgb(fraction_of(value)) : std::array<int, 3>{0xbb, 0xbb, 0xbb};
                svg += "<rect class=\"cell\" data-row=\"" + std::to_string(row) + "\" data-column=\"" +
                       std::to_string(column) + "\" x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) + "\" width=\"" +
                       coordinate(cell) + "\" height=\"" + coordinate(cell) + "\" fill=\"" + detail::hex_colour(rgb) +
                       "\"/>\n";
                if (!show_values || !finite) continue;
                // Dark text on the light end of the scale, white on the dark end (perceived brightness).
                bool light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140;
                std::string text = detail::format_number(value_format.c_str(), value);
                if (text.find_first_not_of("-0.") == std::string::npos)
                    text = detail::format_number(value_format.c_str(), 0.0); // no "-0.00"
                svg += "<text class=\"value\" x=\"" + coordinate(x + cell / 2) + "\" y=\"" +
                       coordinate(y + cell / 2 + 4) + "\" text-anchor=\"middle\" font-size=\"10\" fill=\"" +
                       (light ? "black" : "white") + "\">" + text + "</text>\n";
            }
        svg += "</g>\n";
    }

    void add_labels(std::string& svg, const Layout& layout) const {
        using detail::coordinate;
        const double cell = cell_size;
        svg += "<g class=\"row-labels\" text-anchor=\"end\">\n";
        for (std::size_t row = 0; row < layout.rows.size(); ++row)
            svg += "<text x=\"" + coordinate(layout.grid_left - 6) + "\" y=\"" +
                   coordinate(layout.grid_top + cell * (double(row) + 0.5) + 4) + "\">" +
                   detail::escape_xml(layout.rows[row]) + "</text>\n";
        svg += "</g>\n";
        double label_top = layout.grid_top + layout.grid_height + 6;
        svg += std::string("<g class=\"column-labels\" text-anchor=\"") +
               (layout.rotate_column_labels ? "end" : "middle") + "\">\n";
        for (std::size_t column = 0; column < layout.columns.size(); ++column) {
            double x = layout.grid_left + cell * (double(column) + 0.5);
            if (layout.rotate_column_labels) {
                std::string page_x = coordinate(x + 4), page_y = coordinate(label_top);
                svg += "<text x=\"" + page_x + "\" y=\"" + page_y + "\" transform=\"rotate(-90 " + page_x + " " +
                       page_y + ")\">" + detail::escape_xml(layout.columns[column]) + "</text>\n";
            } else {
                svg += "<text x=\"" + coordinate(x) + "\" y=\"" + coordinate(label_top + 10) + "\">" +
                       detail::escape_xml(layout.columns[column]) + "</text>\n";
            }
        }
        svg += "</g>\n";
        if (!x_label.empty())
            svg += "<text class=\"x-label\" x=\"" + coordinate(layout.grid_left + layout.grid_width / 2) + "\" y=\"" +
                   coordinate(layout.height - margin - 4) + "\" text-anchor=\"middle\">" + detail::escape_xml(x_label) +
                   "</text>\n";
        if (!y_label.empty()) {
            std::string x = coordinate(margin + 10), y = coordinate(layout.grid_top + layout.grid_height / 2);
            svg += "<text class=\"y-label\" x=\"" + x + "\" y=\"" + y + "\" transform=\"rotate(-90 " + x + " " + y +
                   ")\" text-anchor=\"middle\">" + detail::escape_xml(y_label) + "</text>\n";
        }
    }

    // A vertical bar beside the grid, the range's minimum at the bottom and its maximum at the top.
    void add_scale(std::string& svg, const Layout& layout) const {
        using detail::coordinate;
        AxisRange range = scale();
        svg += "<defs><linearGradient id=\"clipft-heatmap-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n";
        for (std::size_t i = 0; i < detail::viridis_points.size(); ++i)
            svg += "<stop offset=\"" +
                   detail::format_number("%.3f", double(i) / double(detail::viridis_points.size() - 1)) +
                   "\" stop-color=\"" + detail::hex_colour(detail::viridis_points[i]) + "\"/>\n";
        svg += "</linearGradient></defs>\n";
        svg += "<g class=\"scale\">\n<rect x=\"" + coordinate(layout.scale_left) + "\" y=\"" +
               coordinate(layout.grid_top) + "\" width=\"" + coordinate(scale_width) + "\" height=\"" +
               coordinate(layout.grid_height) + "\" fill=\"url(#clipft-heatmap-scale)\" stroke=\"#999999\"/>\n";
        Ticks ticks = scale_ticks();
        for (double tick : ticks.values) {
            double y = layout.grid_top + layout.grid_height * (1 - (tick - range.min) / (range.max - range.min));
            svg += "<line x1=\"" + coordinate(layout.scale_left + scale_width) + "\" y1=\"" + coordinate(y) +
                   "\" x2=\"" + coordinate(layout.scale_left + scale_width + 4) + "\" y2=\"" + coordinate(y) +
                   "\" stroke=\"black\"/>\n";
            svg += "<text x=\"" + coordinate(layout.scale_left + scale_width + 7) + "\" y=\"" + coordinate(y + 4) +
                   "\">" + format_tick(tick, ticks.step) + "</text>\n";
        }
        svg += "</g>\n";
    }
};

} // namespace clipft::plot
