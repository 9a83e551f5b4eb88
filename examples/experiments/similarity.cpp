// clipft-experiment similarity (thesis Figure 7 and Table 8): the cosine similarities of the
// 10desc description embeddings (real and fake, 20 x 20) under the pretrained model and under the
// model fully fine-tuned with them, as heatmaps, and the mean similarity within the real
// descriptions, within the fake ones, and across.
#include "experiment.hpp"

#include <clipft/plot/heatmap.hpp>

namespace clipft::experiments {

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix cosine_similarities(const models::CLIP<float>& model, const text::TokenizedDescriptions& table) {
    Tensor<float> embeddings = ops::l2_normalize(eval::encode_descriptions(model, table));
    Tensor<float> similarities = ops::matmul(embeddings, embeddings.transpose(0, 1)).contiguous();
    const std::int64_t n = similarities.size(0);
    Matrix matrix(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        matrix[std::size_t(i)].assign(similarities.data() + i * n, similarities.data() + (i + 1) * n);
    return matrix;
}

// The mean of the block rows [row_begin, row_end) x columns [column_begin, column_end), with or
// without its diagonal entries (a description's similarity to itself, always 1).
double block_mean(const Matrix& matrix, std::size_t row_begin, std::size_t row_end, std::size_t column_begin,
                  std::size_t column_end, bool with_diagonal) {
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t i = row_begin; i < row_end; ++i)
        for (std::size_t j = column_begin; j < column_end; ++j)
            if (with_diagonal || i != j) sum += matrix[i][j], ++count;
    return count ? sum / double(count) : NAN;
}

} // namespace

int similarity(const Options& options) {
    Experiment experiment(options, "similarity");
    const std::string descriptions = options.text("descriptions");
    text::DescriptionSet set = experiment.description_set(descriptions);
    // One cell per pair of descriptions: beyond a few dozen the heatmap stops being readable.
    if (set.size() > 100)
        throw UsageError("--descriptions: " + set.name + " holds " + std::to_string(set.size()) +
                         " descriptions; the heatmaps are for small sets such as 10desc (at most 100)");

    Matrix before, after;
    text::TokenizedDescriptions table;
    {
        auto pretrained = experiment.load_model();
        experiment.to_device(*pretrained);
        table = experiment.tokenize(set, *pretrained);
        before = cosine_similarities(*pretrained, table);
    }
    if (options.given("finetuned")) {
        experiment.say("reading the fine-tuned weights ", options.text("finetuned"));
        auto finetuned = models::load_clip<float>(options.text("finetuned"));
        experiment.to_device(*finetuned);
        after = cosine_similarities(*finetuned, table);
    } else {
        FineTuned tuned =
            fine_tune(experiment, {"CLIP (" + set.name + ")", descriptions, "full", file_name_part(set.name)},
                      training_data(experiment), experiment.seed);
        after = cosine_similarities(*tuned.model, table);
    }

    const std::size_t real = set.descriptions[0].size(), total = set.size();
    std::vector<std::string> labels;
    io::Json texts = io::Json::object();
    for (std::size_t c = 0; c < experiment.classes.size(); ++c)
        for (std::size_t d = 0; d < set.descriptions[c].size(); ++d) {
            labels.push_back(experiment.classes[c] + " " + std::to_string(d));
            texts[labels.back()] = set.descriptions[c][d];
        }

    // Both heatmaps on one colour scale, so that their colours compare.
    double lowest = 0;
    for (const Matrix* matrix : {&before, &after})
        for (const auto& row : *matrix)
            for (double value : row) lowest = std::min(lowest, value);
    std::vector<std::filesystem::path> plots;
    for (auto [matrix, when, file] : {std::tuple{&before, "pretrained (zero-shot)", "similarity-before.svg"},
                                      {&after, "fine-tuned", "similarity-after.svg"}}) {
        plot::Heatmap heatmap;
        heatmap.title = "Cosine similarity of the " + set.name + " embeddings, " + when;
        heatmap.values = *matrix;
        heatmap.row_labels = heatmap.column_labels = labels;
        heatmap.x_label = heatmap.y_label = "descriptions";
        heatmap.value_range = plot::AxisRange{std::floor(lowest * 10) / 10, 1};
        heatmap.show_values = total <= 24;
        plots.push_back(experiment.out / file);
        heatmap.save(plots.back());
    }

    Table means{"Table 8: mean cosine similarity of the " + set.name +
                    " description embeddings (whole blocks, as the thesis; "
                    "off-diag: without the 1s of each description with itself)",
                {"Real/Real", "Real/Fake", "Fake/Fake", "Real/Real off-diag", "Fake/Fake off-diag"},
                {},
                {}};
    for (auto [name, matrix] :
         {std::pair{"CLIP (zero-shot - " + set.name + ")", &before}, {"CLIP (" + set.name + ")", &after}})
        means.add_row(
            name, {block_mean(*matrix, 0, real, 0, real, true), block_mean(*matrix, 0, real, real, total, true),
                   block_mean(*matrix, real, total, real, total, true), block_mean(*matrix, 0, real, 0, real, false),
                   block_mean(*matrix, real, total, real, total, false)});
    report(experiment, {means}, plots,
           {{"labels", labels}, {"descriptions", texts}, {"before", before}, {"after", after}});
    return 0;
}

} // namespace clipft::experiments
