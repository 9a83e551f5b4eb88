// clipft eval / clipft zero-shot: score a dataset with a CLIP checkpoint and a description set
// (SPEC "Inference with descriptions"), write the per-image scores, print the metrics table, and
// plot the ROC curves. zero-shot is the same job on pretrained weights.
#include "adapted_model.hpp"
#include "class_from.hpp"
#include "device_options.hpp"
#include "options.hpp"

#include <clipft/clip.hpp>
#include <clipft/eval/multiclass.hpp>
#include <clipft/eval/report.hpp>
#include <clipft/io/csv.hpp>

#include <iostream>
#include <optional>
#include <sstream>

namespace clipft::cli {

namespace {

void print_row(const std::string& name, const eval::BinaryMetrics& metrics) {
    std::printf("%-28s %8.4f %8.4f %8.4f %9.4f %8lld %8lld\n", name.c_str(), metrics.roc_auc, metrics.average_precision,
                metrics.equal_error_rate, metrics.accuracy, (long long)metrics.positives, (long long)metrics.negatives);
}

// Accuracy, macro AUC, each class's AUC and AP, and the confusion matrix (rows true, columns predicted).
void print_multiclass(const eval::MulticlassMetrics& metrics) {
    std::printf("\n%zu classes: accuracy %.4f, macro AUC (one-vs-rest) %.4f\n%-28s %8s %8s %8s  %13s",
                metrics.classes.size(), metrics.accuracy, metrics.macro_auc, "", "AUC", "AP", "images",
                "predicted as:");
    for (const std::string& name : metrics.classes) std::printf(" %10.10s", name.c_str());
    std::printf("\n");
    for (std::size_t c = 0; c < metrics.classes.size(); ++c) {
        std::printf("%-28s %8.4f %8.4f %8lld  %13s", ("  " + metrics.classes[c]).c_str(), metrics.auc[c],
                    metrics.average_precision[c], (long long)metrics.counts[c], "");
        for (std::int64_t count : metrics.confusion_matrix[c]) std::printf(" %10lld", (long long)count);
        std::printf("\n");
    }
}

} // namespace

int evaluate(const Options& options) {
    if (options.given("threads")) set_num_threads(int(options.integer("threads")));
    std::vector<std::string> classes;
    std::istringstream names(options.text("classes"));
    for (std::string name; std::getline(names, name, ',');)
        if (!name.empty()) classes.push_back(name);
    // A probe file (clipft probe) scores in place of descriptions; its classes are the default.
    std::optional<heads::Probe> probe;
    if (options.given("probe") == options.given("descriptions"))
        throw UsageError("give either --descriptions SET or --probe P.safetensors (a head of clipft probe)");
    if (options.given("probe")) {
        probe = heads::Probe::load(options.text("probe"));
        if (!options.given("classes"))
            classes = probe->classes;
        else if (classes != probe->classes)
            fail(options.text("probe"), ": the probe's classes are ", heads::join_classes(probe->classes),
                 ", --classes says ", heads::join_classes(classes));
    }
    if (classes.size() < 2) throw UsageError("--classes needs at least two class names, e.g. real,fake");
    const std::int64_t positive = std::int64_t(classes.size()) - 1; // the last class (fake) is positive
    eval::ScoringOptions scoring = eval::ScoringOptions::parse(options.text("scoring"));

    const std::filesystem::path model_path = options.text("model"), out = options.text("out");
    const Device device = device_option(options);
    const Precision precision = precision_option(options, device);
    auto model = load_adapted_model(options);
    model->to(device);
    if (probe && probe->width() != model->config.embed_dim)
        fail(options.text("probe"), ": the probe takes features of width ", probe->width(),
             ", the model's embeddings have ", model->config.embed_dim);
    if (probe && probe->metadata.contains("model_hash") &&
        probe->metadata.at("model_hash") != heads::model_hash(model_path))
        std::cerr << "clipft eval: warning: " << options.text("probe")
                  << " was fitted on the features of another model than " << model_path.string() << "\n";
    text::DescriptionSet set;
    if (probe)
        set.name = "probe " + std::filesystem::path(options.text("probe")).filename().string();
    else
        set = text::DescriptionSet::load(text::find_description_set(options.text("descriptions")), classes);
    std::filesystem::path vocabulary =
        options.given("vocab") ? std::filesystem::path(options.text("vocab")) : text::model_vocabulary(model_path);
    data::Dataset dataset = data::Dataset::open(options.text("data"), classes, class_source(options));

    // The descriptions are encoded once; the images in batches, with a progress bar.
    std::optional<AutocastGuard> autocast(std::in_place, precision);
    Tensor<float> images =
        eval::encode_images(*model, data::image_set(dataset, {.size = model->config.vision.image_size}),
                            options.integer("batch"), !options.flag("quiet"));
    Tensor<float> probabilities;
    if (probe) {
        probabilities = probe->probabilities(ops::l2_normalize(images));
    } else {
        auto table = text::TokenizedDescriptions::from_texts(set.descriptions, text::Tokenizer::load(vocabulary),
                                                             model->config.text.context_length);
        if (model->text.prompt)
            model->text.prompt->set_descriptions(table); // a per-class context knows its classes' texts
        Tensor<float> texts = eval::encode_descriptions(*model, table);
        probabilities = eval::class_probabilities(images, texts, table.counts, model->logit_scale.item(), scoring);
    }
    autocast.reset();

    eval::ScoredSet scored;
    scored.labels = eval::binary_labels(dataset.labels(), positive);
    scored.scores = eval::class_scores(probabilities, positive);
    bool has_subsets = false, has_videos = false;
    for (const data::Sample& sample : dataset.samples)
        has_subsets |= !sample.subset.empty(), has_videos |= !sample.video.empty();
    for (const data::Sample& sample : dataset.samples) {
        if (has_subsets) scored.subsets.push_back(sample.subset);
        if (has_videos) scored.videos.push_back(sample.video.empty() ? sample.path.string() : sample.video);
    }
    scored.video_score = eval::parse_video_score(options.choice("video-score", {"mean", "max-face-mean"}));
    if (scored.video_score == eval::VideoScore::max_face_mean)
        for (const data::Sample& sample : dataset.samples) scored.frames.push_back(sample.frame);
    eval::MetricsReport report = eval::metrics_report(scored, options.number("threshold"));
    // More than two classes: the argmax's accuracy and confusion matrix, and each class against the rest.
    std::optional<eval::MulticlassMetrics> multiclass;
    if (classes.size() > 2) {
        multiclass = eval::multiclass_metrics(dataset.labels(), probabilities, classes);
        report.json["multiclass"] = eval::to_json(*multiclass);
    }

    std::filesystem::create_directories(out);
    std::string csv = "path,label,score,subset,video";
    for (const std::string& name : classes) csv += ",p_" + name;
    // A frame column when the data has frames (a clipft faces manifest), for clipft metrics --video-score.
    bool has_frames = false;
    for (const data::Sample& sample : dataset.samples) has_frames |= !sample.frame.empty();
    csv += has_frames ? ",frame\n" : "\n";
    for (std::size_t i = 0; i < dataset.size(); ++i) {
        const data::Sample& sample = dataset.samples[i];
        std::ostringstream row;
        row.precision(9);
        row << io::csv_field(sample.path.string()) << ',' << sample.label << ',' << scored.scores[i] << ','
            << io::csv_field(sample.subset) << ',' << io::csv_field(sample.video);
        for (std::int64_t c = 0; c < std::int64_t(classes.size()); ++c)
            row << ',' << probabilities.at({std::int64_t(i), c});
        if (has_frames) row << ',' << io::csv_field(sample.frame);
        csv += row.str() + "\n";
    }
    io::write_file_atomically(out / "scores.csv", [&](io::FileWriter& writer) { writer.write(csv); });
    io::write_file_atomically(out / "metrics.json",
                              [&](io::FileWriter& writer) { writer.write(report.json.dump(1) + "\n"); });
    report.roc.title = "ROC: " + set.name + ", " + options.text("scoring");
    report.roc.save(out / "roc.svg");

    std::printf("%s on %s with %s (%zu descriptions, scoring %s)\n\n", model_path.filename().c_str(),
                options.text("data").c_str(), set.name.c_str(), set.size(), options.text("scoring").c_str());
    std::printf("%-28s %8s %8s %8s %9s %8s %8s\n", "", "AUC", "AP", "EER", "accuracy", classes.back().c_str(),
                classes.front().c_str());
    print_row("all images", report.overall);
    for (const auto& [name, metrics] : report.subsets) print_row("  " + name, metrics);
    if (report.videos)
        print_row(std::string("videos (") + eval::video_score_name(scored.video_score) + ")", *report.videos);
    if (multiclass) print_multiclass(*multiclass);
    std::printf("\nscores: %s  metrics: %s  ROC: %s\n", (out / "scores.csv").c_str(), (out / "metrics.json").c_str(),
                (out / "roc.svg").c_str());
    nlohmann::ordered_json result = report.json;
    result["scores"] = (out / "scores.csv").string();
    result["roc_plot"] = (out / "roc.svg").string();
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
