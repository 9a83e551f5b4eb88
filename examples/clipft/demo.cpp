// clipft demo: the built-in default job. A deepfake-detection task with nothing downloaded:
// synthetic faces, fakes made by self-blending them, and held-out fakes of another kind (face
// swaps) for a cross-manipulation test. A small CLIP fine-tuned with the thesis' pairwise loss
// scores both test sets; the ROC and loss curves are written as SVG plots.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace clipft::cli {

namespace {

// The descriptions of descriptions/1desc.
const std::vector<std::vector<std::string>> descriptions{{"The image of a person."}, {"The image of a deepfake."}};

// A small CLIP that trains from scratch in minutes on 2 cores: 96-pixel images in 8 x 8 patches.
models::CLIPConfig small_clip() {
    models::CLIPConfig config;
    config.embed_dim = 64;
    config.vision = {.image_size = 96, .patch_size = 12, .width = 128, .layers = 4, .heads = 4, .mlp_width = 512};
    config.text = {.context_length = 77, .vocab_size = 49408, .width = 64, .layers = 2, .heads = 2, .mlp_width = 256};
    return config;
}

// Without a checkpoint there is no BPE vocabulary to read, and a model trained from scratch needs
// none: each description becomes its UTF-8 bytes as ids, between CLIP's start and end tokens.
text::TokenizedDescriptions byte_descriptions(std::int64_t context) {
    text::TokenizedDescriptions table;
    std::vector<std::int64_t> ids;
    for (const auto& texts : descriptions) {
        table.first_row.push_back(std::int64_t(ids.size()) / context);
        table.counts.push_back(std::int64_t(texts.size()));
        for (const std::string& text : texts) {
            std::vector<std::int64_t> row{49406};
            for (unsigned char c : text) row.push_back(c);
            row.push_back(49407);
            row.resize(std::size_t(context), 0);
            ids.insert(ids.end(), row.begin(), row.end());
        }
    }
    table.token_ids = Tensor<std::int64_t>::from_vector(ids, {std::int64_t(ids.size()) / context, context});
    return table;
}

// Preprocessed pixels of a synthetic set, held in memory, as a trainer's image source.
struct PreparedSet {
    data::ImageSet images;
    Tensor<float> pixels;
};

PreparedSet prepare(const data::SyntheticDeepfakes& set, std::int64_t size) {
    Tensor<float> pixels = image::preprocess_batch(set.images, {.size = size});
    return {{set.labels, [pixels](const std::vector<std::int64_t>& items) {
                 return ops::index_select(pixels, 0, Tensor<std::int64_t>::from_vector(items));
             }},
            pixels};
}

// P(fake) of every image of `set`.
std::vector<double> fake_probabilities(const models::CLIP<float>& model, const PreparedSet& set,
                                       const text::TokenizedDescriptions& table) {
    NoGradGuard no_grad;
    std::vector<Tensor<float>> embeds;
    for (std::int64_t begin = 0; begin < set.pixels.size(0); begin += 64)
        embeds.push_back(model.encode_image(set.pixels.narrow(0, begin, std::min<std::int64_t>(64, set.pixels.size(0) - begin))));
    Tensor<float> probabilities = eval::class_probabilities(ops::concat(embeds, 0), model.encode_text(table.token_ids), table.counts,
                                                            model.logit_scale.item());
    std::vector<double> scores;
    for (std::int64_t i = 0; i < probabilities.size(0); ++i) scores.push_back(probabilities.at({i, 1}));
    return scores;
}

std::vector<int> binary_labels(const data::SyntheticDeepfakes& set) { return {set.labels.begin(), set.labels.end()}; }

} // namespace

int demo(const Options& options) {
    const std::uint64_t seed = std::uint64_t(options.integer("seed"));
    const std::int64_t per_class = options.integer("images"), epochs = options.integer("epochs");
    if (per_class < 16 || epochs < 1) throw UsageError("--images must be at least 16 and --epochs at least 1");
    const std::filesystem::path out = options.text("out");
    auto started = std::chrono::steady_clock::now();

    // The model: real CLIP weights with --model, else a small CLIP from OpenAI's initialisation.
    std::unique_ptr<models::CLIP<float>> model;
    text::TokenizedDescriptions table;
    if (options.given("model")) {
        std::filesystem::path path = options.text("model");
        model = models::load_clip<float>(path);
        table = text::TokenizedDescriptions::from_texts(descriptions, text::Tokenizer::load(std::filesystem::is_directory(path) ? path : path.parent_path()),
                                                        model->config.text.context_length);
    } else {
        model = std::make_unique<models::CLIP<float>>(small_clip());
        Generator generator(seed);
        models::initialize_clip(*model, generator);
        table = byte_descriptions(model->config.text.context_length);
    }
    const std::int64_t size = model->config.vision.image_size;

    std::fprintf(stderr, "clipft demo: generating synthetic faces (%lld real + %lld self-blended for training)...\n",
                 (long long)per_class, (long long)per_class);
    // Training fakes are self-blended with a stronger colour mismatch and always at a lower
    // resolution than SBI's defaults, so that a small model learns them within two minutes; the
    // face swaps of the cross-manipulation test keep the defaults and were never seen in training.
    faces::SelfBlendOptions visible;
    visible.colour_jitter = {0.4, 0.4, 0.4, 0.08};
    visible.downscale_probability = 1.0;
    visible.blend_ratios = {1.0};
    const std::int64_t drawn = 96; // pixels of each synthetic face, before CLIP's resize
    PreparedSet train = prepare(data::synthetic_deepfakes(per_class, drawn, data::FakeKind::self_blended, seed * 10 + 1, visible), size);
    PreparedSet validation =
        prepare(data::synthetic_deepfakes(per_class / 6, drawn, data::FakeKind::self_blended, seed * 10 + 2, visible), size);
    data::SyntheticDeepfakes in_distribution =
        data::synthetic_deepfakes(per_class / 3, drawn, data::FakeKind::self_blended, seed * 10 + 3, visible);
    data::SyntheticDeepfakes cross = data::synthetic_deepfakes(per_class / 3, drawn, data::FakeKind::face_swap, seed * 10 + 4);

    train::TrainerOptions trainer_options;
    trainer_options.sampler = {.k = 2, .groups_per_batch = 8, .seed = seed};
    trainer_options.max_epochs = epochs;
    const std::int64_t steps = epochs * (per_class / 8);
    trainer_options.schedule = optim::LearningRateSchedule::warmup_cosine(options.number("lr"), steps / 10, steps - steps / 10);
    trainer_options.early_stopping.patience = 0; // a fixed budget: the best epoch is still the one kept
    trainer_options.output_dir = out;
    trainer_options.progress = !options.flag("quiet");
    train::Trainer trainer(*model, train.images, validation.images, table, trainer_options);
    train::TrainingSummary summary = trainer.run();

    std::vector<double> in_scores = fake_probabilities(*model, prepare(in_distribution, size), table);
    std::vector<double> cross_scores = fake_probabilities(*model, prepare(cross, size), table);
    eval::BinaryMetrics in_metrics = eval::binary_metrics(binary_labels(in_distribution), in_scores);
    eval::BinaryMetrics cross_metrics = eval::binary_metrics(binary_labels(cross), cross_scores);
    plot::LinePlot roc = eval::roc_plot(eval::roc_curve(binary_labels(in_distribution), in_scores), "self-blended (in distribution)");
    eval::RocCurve cross_curve = eval::roc_curve(binary_labels(cross), cross_scores);
    roc.add_series("face swaps (cross-manipulation)", cross_curve.false_positive_rate, cross_curve.true_positive_rate);
    roc.save(out / "roc.svg");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::printf("\n%-34s %8s %8s %8s %8s\n", "test set", "AUC", "AP", "EER", "accuracy");
    for (auto [name, metrics] : {std::pair{"self-blended (in distribution)", in_metrics}, {"face swaps (cross-manipulation)", cross_metrics}})
        std::printf("%-34s %8.4f %8.4f %8.4f %8.4f\n", name, metrics.roc_auc, metrics.average_precision, metrics.equal_error_rate,
                    metrics.accuracy);
    std::printf("\nbest epoch %lld of %lld (validation loss %.4f); plots: %s, %s\n", (long long)(summary.best_epoch + 1),
                (long long)summary.epochs, summary.best_validation_loss, (out / "roc.svg").c_str(), (out / "loss.svg").c_str());
    io::Json result = {{"in_distribution_auc", in_metrics.roc_auc}, {"cross_manipulation_auc", cross_metrics.roc_auc},
                       {"seconds", std::round(seconds * 10) / 10}, {"roc_plot", (out / "roc.svg").string()},
                       {"loss_plot", (out / "loss.svg").string()}, {"steps", summary.steps}, {"seed", seed}};
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
