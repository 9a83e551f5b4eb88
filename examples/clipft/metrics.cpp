// clipft metrics: ROC AUC, average precision, EER, precision, recall and accuracy of scores in a CSV
// file, overall, per subset and per video, as one JSON object.
#include "options.hpp"

#include <clipft/eval/report.hpp>
#include <clipft/io/csv.hpp>
#include <clipft/io/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string_view>
#include <tuple>

namespace clipft::cli {

namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::optional<double> parse_number(std::string_view text) {
    text = trimmed(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1); // from_chars refuses a plus sign
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Columns label,score[,subset][,video]: by name when the first line is a header (its first field
// is not a number), else by position.
eval::ScoredSet read_scores(const std::string& path) {
    io::CsvTable table = io::read_csv(path, {.header = false});
    if (table.rows.empty()) fail(path, ": no rows; expected label,score[,subset][,video]");
    std::size_t label = 0, score = 1;
    std::optional<std::size_t> subset, video, frame;
    if (!parse_number(table.rows.front().fields.front())) {
        table.header = std::move(table.rows.front().fields);
        table.rows.erase(table.rows.begin());
        label = table.column("label");
        score = table.column("score");
        subset = table.find_column("subset");
        video = table.find_column("video");
        frame = table.find_column("frame");
        if (table.rows.empty()) fail(path, ": a header but no rows");
    } else {
        std::size_t columns = table.rows.front().fields.size();
        if (columns < 2 || columns > 4)
            fail(path, ":", table.rows.front().line, ": ", columns,
                 " columns; without a header the columns are label,score[,subset[,video]]");
        if (columns >= 3) subset = 2;
        if (columns == 4) video = 3;
    }

    eval::ScoredSet result;
    for (const io::CsvRow& row : table.rows) {
        std::optional<double> label_value = parse_number(row.fields[label]);
        if (!label_value || (*label_value != 0 && *label_value != 1))
            fail(table.where(row), ": label '", row.fields[label],
                 "' is neither 0 (negative, real) nor 1 (positive, fake)");
        std::optional<double> score_value = parse_number(row.fields[score]);
        if (!score_value || std::isnan(*score_value))
            fail(table.where(row), ": score '", row.fields[score], "' is not a number");
        result.labels.push_back(int(*label_value));
        result.scores.push_back(*score_value);
        for (auto [column, names, what] :
             {std::tuple{subset, &result.subsets, "subset"}, std::tuple{video, &result.videos, "video"}}) {
            if (!column) continue;
            std::string_view name = trimmed(row.fields[*column]);
            // An empty subset is "no subset" (the real images); a video must be named.
            if (name.empty() && std::string_view(what) == "video") fail(table.where(row), ": empty video name");
            names->emplace_back(name);
        }
        if (frame) result.frames.emplace_back(trimmed(row.fields[*frame]));
    }
    return result;
}

} // namespace

int metrics(const Options& options) {
    if (!options.positional().empty()) throw UsageError("unexpected argument '" + options.positional().front() + "'");
    std::string path = options.text("scores");
    double threshold = options.number("threshold");
    eval::ScoredSet data = read_scores(path);
    data.video_score = eval::parse_video_score(options.choice("video-score", {"mean", "max-face-mean"}));
    if (data.video_score == eval::VideoScore::max_face_mean && data.videos.empty())
        throw UsageError("--video-score max-face-mean needs a video column in " + path);
    eval::MetricsReport report;
    try {
        report = eval::metrics_report(data, threshold);
    } catch (const Error& error) {
        fail(path, ": ", error.what()); // the metrics know the rows, not the file
    }
    if (options.given("roc-plot")) report.roc.save(options.text("roc-plot"));
    std::cout << report.json.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
