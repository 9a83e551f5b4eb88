// SVG heatmaps: viridis colours, cells and their values, labels, the colour scale, errors, atomic save.
#include <clipft/plot/heatmap.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::error_message;
using clipft::testing::contains;

namespace {

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t found = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
    return found;
}

// The contents of the <text> elements of the group <g class="name" ...> ... </g>, in order.
std::vector<std::string> group_texts(const std::string& svg, const std::string& name) {
    std::size_t begin = svg.find("<g class=\"" + name + "\"");
    REQUIRE_MESSAGE(begin != std::string::npos, "no group " << name);
    std::string group = svg.substr(begin, svg.find("</g>", begin) - begin);
    std::vector<std::string> texts;
    static const std::regex text_element("<text[^>]*>([^<]*)</text>");
    for (std::sregex_iterator it(group.begin(), group.end(), text_element), end; it != end; ++it)
        texts.push_back((*it)[1]);
    return texts;
}

// The fill of the cell at (row, column).
std::string cell_fill(const std::string& svg, int row, int column) {
    std::smatch match;
    std::regex cell("<rect class=\"cell\" data-row=\"" + std::to_string(row) + "\" data-column=\"" +
                    std::to_string(column) + "\"[^>]* fill=\"(#[0-9a-f]{6})\"");
    REQUIRE_MESSAGE(std::regex_search(svg, match, cell), "no cell " << row << ", " << column);
    return match[1];
}

} // namespace

TEST_CASE("viridis: the end points, a sample point, interpolation and clamping") {
    CHECK(plot::viridis(0) == "#440154");
    CHECK(plot::viridis(0.5) == "#21908c");
    CHECK(plot::viridis(1) == "#fde725");
    // Half way between the first two samples #440154 and #472d7b: (68+71)/2 = 69.5, (1+45)/2 = 23, (84+123)/2 = 103.5.
    CHECK(plot::viridis(1.0 / 16) == "#461768");
    CHECK(plot::viridis(-2) == "#440154");
    CHECK(plot::viridis(7) == "#fde725");
}

TEST_CASE("a heatmap with a fixed range: cells, colours, values, labels and the colour scale") {
    plot::Heatmap map;
    map.title = "Similarity <real & fake>";
    map.x_label = "fake descriptions";
    map.y_label = "real descriptions";
    map.values = {{0.0, 0.25, 1.0}, {0.5, NAN, -0.001}};
    map.row_labels = {"r0", "a<b"};
    map.value_range = plot::AxisRange{0, 1};
    std::string svg = map.to_svg();

    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
    CHECK(count(svg, "<g") == count(svg, "</g>"));
    CHECK(contains(svg, ">Similarity &lt;real &amp; fake&gt;</text>"));
    CHECK(contains(svg, ">fake descriptions</text>"));
    CHECK(contains(svg, ">real descriptions</text>"));

    CHECK(count(svg, "<rect class=\"cell\"") == 6);
    CHECK(cell_fill(svg, 0, 0) == "#440154");
    CHECK(cell_fill(svg, 0, 2) == "#fde725");
    CHECK(cell_fill(svg, 1, 0) == "#21908c");
    CHECK(cell_fill(svg, 1, 1) == "#bbbbbb"); // NaN: grey
    CHECK(cell_fill(svg, 1, 2) == "#440154"); // below the range: clamped to its minimum
    // Values with two decimals; none for the NaN cell; -0.001 rounds to 0.00, never "-0.00".
    CHECK(group_texts(svg, "cells") == std::vector<std::string>{"0.00", "0.25", "1.00", "0.50", "0.00"});
    CHECK(contains(svg, "fill=\"white\">0.25</text>")); // dark cell, light text
    CHECK(contains(svg, "fill=\"black\">1.00</text>")); // yellow cell, dark text

    CHECK(group_texts(svg, "row-labels") == std::vector<std::string>{"r0", "a&lt;b"});
    CHECK(group_texts(svg, "column-labels") == std::vector<std::string>{"0", "1", "2"});
    CHECK(count(svg, "rotate(-90 ") == 1); // only the y label turns
    CHECK(group_texts(svg, "scale") == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
    CHECK(contains(svg, "fill=\"url(#clipft-heatmap-scale)\""));
    CHECK(contains(svg, "<stop offset=\"0.000\" stop-color=\"#440154\"/>"));
    CHECK(contains(svg, "<stop offset=\"1.000\" stop-color=\"#fde725\"/>"));
}

TEST_CASE("without a range the scale spans the finite values; long column labels turn upwards") {
    plot::Heatmap map;
    map.values = {{-0.5, 0.0}, {0.5, INFINITY}};
    map.column_labels = {"a long column label", "another"};
    map.show_values = false;
    std::string svg = map.to_svg();
    CHECK(map.scale().min == -0.5);
    CHECK(map.scale().max == 0.5);
    CHECK(cell_fill(svg, 0, 0) == "#440154");
    CHECK(cell_fill(svg, 0, 1) == "#21908c");
    CHECK(cell_fill(svg, 1, 0) == "#fde725");
    CHECK(cell_fill(svg, 1, 1) == "#bbbbbb");
    CHECK(group_texts(svg, "cells").empty());
    CHECK(count(svg, "rotate(-90 ") == 2);
    CHECK(group_texts(svg, "scale") == std::vector<std::string>{"-0.4", "-0.2", "0.0", "0.2", "0.4"});

    plot::Heatmap flat; // all values equal: the middle of a unit-wide scale
    flat.values = {{0.8, 0.8}};
    CHECK(cell_fill(flat.to_svg(), 0, 1) == "#21908c");
    CHECK(flat.scale().min == doctest::Approx(0.3));
    CHECK(flat.scale().max == doctest::Approx(1.3));
}

TEST_CASE("invalid heatmaps are errors that say what to fix") {
    plot::Heatmap map;
    map.title = "m";
    CHECK(contains(error_message([&] { map.to_svg(); }), "no values"));
    map.values = {{1, 2}, {3}};
    CHECK(contains(error_message([&] { map.to_svg(); }), "row 1 has 1 values, row 0 has 2"));
    map.values = {{1, 2}, {3, 4}};
    map.row_labels = {"only one"};
    CHECK(contains(error_message([&] { map.to_svg(); }), "1 row labels for 2 rows"));
    map.row_labels.clear();
    map.column_labels = {"a", "b", "c"};
    CHECK(contains(error_message([&] { map.to_svg(); }), "3 column labels for 2 columns"));
    map.column_labels.clear();
    map.value_range = plot::AxisRange{1, 1};
    CHECK(contains(error_message([&] { map.to_svg(); }), "value range [1, 1]"));
}

TEST_CASE("save writes the SVG atomically") {
    clipft::testing::TemporaryDirectory directory;
    plot::Heatmap map;
    map.values = {{0.1, 0.9}};
    map.save(directory / "map.svg");
    CHECK(clipft::testing::read_bytes(directory / "map.svg") == map.to_svg());
    CHECK(std::distance(std::filesystem::directory_iterator(directory.path()), std::filesystem::directory_iterator()) ==
          1);
    CHECK(contains(error_message([&] { map.save(directory / "missing" / "map.svg"); }), "map.svg"));
    CHECK(std::distance(std::filesystem::directory_iterator(directory.path()), std::filesystem::directory_iterator()) ==
          1);
}
