// SVG line plots: well-formed documents, nice ticks, series and legend, NaN gaps, atomic save.
#include <clipft/plot/svg.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::error_message;
using clipft::testing::contains;

namespace {

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t found = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++found;
    return found;
}

// Checks XML well-formedness as far as this writer's output goes: every element closes in order,
// attributes are quoted, and text holds no raw '<' or unescaped '&'. Returns the root element's name.
std::string check_well_formed(const std::string& xml) {
    std::vector<std::string> open;
    std::string root;
    std::size_t at = 0;
    while (at < xml.size()) {
        if (xml[at] != '<') {
            std::size_t end = xml.find('<', at);
            std::string text = xml.substr(at, end == std::string::npos ? std::string::npos : end - at);
            for (std::size_t amp = text.find('&'); amp != std::string::npos; amp = text.find('&', amp + 1)) {
                std::string entity = text.substr(amp, text.find(';', amp) - amp + 1);
                CHECK_MESSAGE((entity == "&amp;" || entity == "&lt;" || entity == "&gt;" || entity == "&quot;" ||
                               entity == "&apos;"),
                              "bad entity " << entity);
            }
            at = end == std::string::npos ? xml.size() : end;
            continue;
        }
        std::size_t end = at + 1;
        char quote = 0;
        for (; end < xml.size(); ++end) {
            if (quote) {
                if (xml[end] == quote)
                    quote = 0;
                else if (xml[end] == '<')
                    FAIL_CHECK("'<' inside an attribute value at byte " << end);
            } else if (xml[end] == '"' || xml[end] == '\'')
                quote = xml[end];
            else if (xml[end] == '>')
                break;
        }
        REQUIRE_MESSAGE(end < xml.size(), "unterminated tag at byte " << at);
        std::string tag = xml.substr(at + 1, end - at - 1);
        at = end + 1;
        if (tag.front() == '?') {
            CHECK(tag.back() == '?');
            continue;
        }
        bool closing = tag.front() == '/', self_closing = tag.back() == '/';
        std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" \n/", 1) - (closing ? 1 : 0));
        if (closing) {
            REQUIRE_MESSAGE(!open.empty(), "</" << name << "> closes nothing");
            CHECK_MESSAGE(open.back() == name, "</" << name << "> closes <" << open.back() << ">");
            open.pop_back();
        } else {
            if (root.empty())
                root = name;
            else
                CHECK_MESSAGE(!open.empty(), "<" << name << "> after the root element");
            if (!self_closing) open.push_back(name);
        }
    }
    CHECK_MESSAGE(open.empty(), open.size() << " elements left open");
    return root;
}

// The text of every <text> element inside the group <g class="...">.
std::vector<std::string> texts_in_group(const std::string& svg, const std::string& group_class) {
    std::size_t begin = svg.find("<g class=\"" + group_class + "\"");
    REQUIRE_MESSAGE(begin != std::string::npos, "no group " << group_class);
    std::size_t end = svg.find("</g>", begin);
    std::vector<std::string> texts;
    for (std::size_t at = svg.find("<text", begin); at < end; at = svg.find("<text", at + 1)) {
        std::size_t start = svg.find('>', at) + 1;
        texts.push_back(svg.substr(start, svg.find("</text>", start) - start));
    }
    return texts;
}

} // namespace

TEST_CASE("nice ticks at 1, 2 or 5 times a power of ten") {
    plot::Ticks unit = plot::nice_ticks(0, 1, false);
    CHECK(unit.step == doctest::Approx(0.2));
    REQUIRE(unit.values.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) CHECK(unit.values[i] == doctest::Approx(0.2 * double(i)));

    plot::Ticks extended = plot::nice_ticks(0.13, 9.7, true);
    CHECK(extended.step == 2);
    CHECK(extended.values == std::vector<double>{0, 2, 4, 6, 8, 10});

    // Fixed range: only the ticks inside it.
    plot::Ticks inside = plot::nice_ticks(0.13, 9.7, false);
    CHECK(inside.values == std::vector<double>{2, 4, 6, 8});

    plot::Ticks epochs = plot::nice_ticks(1, 30, true);
    CHECK(epochs.step == 10);
    CHECK(epochs.values.front() == 0);
    CHECK(epochs.values.back() == 30);

    plot::Ticks negative = plot::nice_ticks(-0.07, 0.012, true);
    CHECK(negative.step == doctest::Approx(0.02));
    CHECK(negative.values.front() == doctest::Approx(-0.08));
    CHECK(negative.values.back() == doctest::Approx(0.02));

    CHECK(plot::format_tick(0.30000000000000004, 0.1) == "0.3");
    CHECK(plot::format_tick(0.4, 0.2) == "0.4");
    CHECK(plot::format_tick(15, 5) == "15");
    CHECK(plot::format_tick(0.0015, 0.0005) == "0.0015");
    CHECK(plot::format_tick(-0.08, 0.02) == "-0.08");

    CHECK(contains(error_message([] { plot::nice_ticks(1, 1, true); }), "min < max"));
    CHECK(contains(error_message([] { plot::nice_ticks(0, NAN, true); }), "finite"));
}

TEST_CASE("a plot with two series: well-formed, ticks, colours, legend") {
    plot::LinePlot figure;
    figure.title = "Loss <train & validation>";
    figure.x_label = "epoch";
    figure.y_label = "loss";
    figure.add_series("train", {1, 2, 3, 4}, {0.9, 0.6, 0.45, 0.4});
    figure.add_series("validation", {1, 2, 3, 4}, {1.0, 0.7, 0.65, 0.66});
    std::string svg = figure.to_svg();

    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(check_well_formed(svg) == "svg");
    CHECK(contains(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(contains(svg, ">Loss &lt;train &amp; validation&gt;</text>"));
    CHECK(contains(svg, ">epoch</text>"));
    CHECK(contains(svg, ">loss</text>"));

    // x data 1..4: range 3, rounded up to 5, over 5 intervals: step 1; y 0.4..1.0: 0.6 -> 1 -> step 0.2.
    CHECK(texts_in_group(svg, "x-ticks") == std::vector<std::string>{"1", "2", "3", "4"});
    CHECK(texts_in_group(svg, "y-ticks") == std::vector<std::string>{"0.4", "0.6", "0.8", "1.0"});

    CHECK(count(svg, "<polyline") == 2);
    CHECK(contains(svg, "data-name=\"train\" stroke=\"#1f77b4\""));
    CHECK(contains(svg, "data-name=\"validation\" stroke=\"#ff7f0e\""));
    CHECK(texts_in_group(svg, "legend") == std::vector<std::string>{"train", "validation"});
    // Plot area 70..620 x 40..425: (1, 0.9) lands at the left edge, 5/6 of the way up.
    CHECK(contains(svg, "points=\"70.00,104.17 "));
}

TEST_CASE("NaN and infinite points are skipped and break the line") {
    plot::LinePlot figure;
    figure.add_series("loss", {0, 1, 2, 3, 4, 5, 6}, {1, 2, NAN, 4, 5, INFINITY, 7});
    std::string svg = figure.to_svg();
    check_well_formed(svg);
    CHECK(count(svg, "<polyline") == 2); // (0,1)-(1,2) and (3,4)-(4,5)
    CHECK(count(svg, "<circle") == 1);   // (6,7) alone
    CHECK(!contains(svg, "nan"));
    CHECK(!contains(svg, "inf"));
    // The y axis fits the finite values 1..7.
    CHECK(texts_in_group(svg, "y-ticks").front() == "0");
    CHECK(texts_in_group(svg, "y-ticks").back() == "8");
}

TEST_CASE("empty plots still render their axes") {
    plot::LinePlot nothing;
    std::string svg = nothing.to_svg();
    CHECK(check_well_formed(svg) == "svg");
    CHECK(texts_in_group(svg, "x-ticks") == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
    CHECK(!contains(svg, "class=\"legend\""));

    plot::LinePlot all_nan;
    all_nan.add_series("empty", {}, {});
    all_nan.add_series("gaps", {1, 2}, {NAN, NAN});
    svg = all_nan.to_svg();
    check_well_formed(svg);
    CHECK(count(svg, "<polyline") == 0);
    CHECK(texts_in_group(svg, "legend") == std::vector<std::string>{"empty", "gaps"});

    plot::LinePlot constant; // one value: the axis widens around it
    constant.add_series("flat", {0, 1}, {3, 3});
    std::vector<std::string> y_ticks = texts_in_group(constant.to_svg(), "y-ticks");
    CHECK(y_ticks.front() == "2.6");
    CHECK(y_ticks.back() == "3.4");
}

TEST_CASE("fixed ranges, explicit colours, dashed and unnamed series, legend corner") {
    plot::LinePlot figure;
    figure.x_range = plot::AxisRange{0, 1};
    figure.y_range = plot::AxisRange{0, 1};
    figure.legend_corner = plot::LegendCorner::bottom_right;
    figure.series.push_back({.name = "", .x = {0, 1}, .y = {0, 1}, .colour = "#999999", .dashed = true});
    figure.add_series("model", {0, 0.1, 1}, {0, 0.8, 1.2}); // 1.2 lies outside: clipped, not rescaled
    std::string svg = figure.to_svg();
    check_well_formed(svg);
    CHECK(texts_in_group(svg, "y-ticks") == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
    CHECK(contains(svg, "data-name=\"\" stroke=\"#999999\" stroke-dasharray=\"6 4\""));
    // The first palette colour goes to the first series without its own colour.
    CHECK(contains(svg, "data-name=\"model\" stroke=\"#1f77b4\">"));
    CHECK(texts_in_group(svg, "legend") == std::vector<std::string>{"model"});
    CHECK(contains(svg, "clip-path=\"url(#clipft-plot-area)\""));
    // Legend at the bottom right: its box ends 10 px above the frame's bottom (480 - 55 - 10).
    std::size_t legend = svg.find("<g class=\"legend\">");
    CHECK(contains(svg.substr(legend, 200), "y=\"389.00\" width=\"75.00\" height=\"26.00\""));

    plot::LinePlot many;
    for (int i = 0; i < 11; ++i) many.add_series("s" + std::to_string(i), {0, 1}, {0, double(i)});
    svg = many.to_svg();
    // Eleven series: the 11th reuses the first colour, dashed.
    CHECK(contains(svg, "data-name=\"s10\" stroke=\"#1f77b4\" stroke-dasharray=\"6 4\""));
    CHECK(contains(svg, "data-name=\"s0\" stroke=\"#1f77b4\">"));
}

TEST_CASE("invalid plots are errors") {
    plot::LinePlot figure;
    figure.title = "curves";
    CHECK(contains(error_message([&] {
                       figure.add_series("bad", {1, 2}, {1});
                   }),
                   "series 'bad' has 2 x values but 1 y values"));
    plot::Series direct;
    direct.name = "direct", direct.x = {1};
    figure.series.push_back(direct);
    CHECK(contains(error_message([&] { figure.to_svg(); }), "series 'direct'"));
    figure.series.clear();
    figure.y_range = plot::AxisRange{1, 0};
    CHECK(contains(error_message([&] { figure.to_svg(); }), "fixed y range [1, 0]"));
}

TEST_CASE("save writes the SVG atomically") {
    clipft::testing::TemporaryDirectory directory;
    plot::LinePlot figure;
    figure.add_series("a", {0, 1}, {1, 0});
    figure.save(directory / "plot.svg");
    CHECK(clipft::testing::read_bytes(directory / "plot.svg") == figure.to_svg());
    CHECK(std::distance(std::filesystem::directory_iterator(directory.path()), std::filesystem::directory_iterator()) ==
          1);

    // A failed save names the target and leaves nothing behind.
    std::string message = error_message([&] { figure.save(directory / "missing" / "plot.svg"); });
    CHECK(contains(message, "plot.svg"));
    CHECK(std::distance(std::filesystem::directory_iterator(directory.path()), std::filesystem::directory_iterator()) ==
          1);
}
