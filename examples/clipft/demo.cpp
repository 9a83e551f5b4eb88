// clipft demo: the built-in default job. A deepfake-detection task with nothing downloaded:
// synthetic faces, fakes made by self-blending them, and held-out fakes of another kind (face
// swaps) for a cross-manipulation test. A small CLIP fine-tuned with the thesis' pairwise loss
// scores both test sets; the ROC and loss curves are written as SVG plots.
#include "options.hpp"
#include "device_options.hpp"

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

// A synthetic set preprocessed once and held in memory, as an image source.
data::ImageSet prepare(const data::SyntheticDeepfakes& set, std::int64_t size) {
    return data::ImageSet::from_images(set.images, set.labels, {.size = size});
}

} // namespace

int demo(const Options& options) {
    const std::uint64_t seed = std::uint64_t(options.integer("seed"));
    const Precision precision = cpu_precision(options);
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
        table = text::TokenizedDescriptions::from_texts(
            descriptions, text::Tokenizer::load(text::model_vocabulary(path)), model->config.text.context_length);
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
    visible.colour_jitter = {0.5, 0.5, 0.5, 0.1};
    visible.downscale_probability = 1.0;
    visible.blend_ratios = {1.0};
    const std::int64_t drawn = 96; // pixels of each synthetic face, before CLIP's resize
    data::ImageSet train = prepare(
        data::synthetic_deepfakes(per_class, drawn, data::FakeKind::self_blended, seed * 10 + 1, visible), size);
    data::ImageSet validation = prepare(
        data::synthetic_deepfakes(per_class / 6, drawn, data::FakeKind::self_blended, seed * 10 + 2, visible), size);
    data::ImageSet in_distribution = prepare(
        data::synthetic_deepfakes(per_class / 3, drawn, data::FakeKind::self_blended, seed * 10 + 3, visible), size);
    data::ImageSet cross =
        prepare(data::synthetic_deepfakes(per_class / 3, drawn, data::FakeKind::face_swap, seed * 10 + 4), size);

    train::TrainerOptions trainer_options;
    trainer_options.sampler = {.k = 2, .groups_per_batch = 8, .seed = seed};
    trainer_options.max_epochs = epochs;
    const std::int64_t steps = epochs * (per_class / 8);
    trainer_options.schedule =
        optim::LearningRateSchedule::warmup_cosine(options.number("lr"), steps / 10, steps - steps / 10);
    trainer_options.early_stopping.patience = 0; // a fixed budget: the best epoch is still the one kept
    trainer_options.output_dir = out;
    trainer_options.progress = !options.flag("quiet");
    trainer_options.precision = precision;
    train::Trainer trainer(*model, train, validation, table, trainer_options);
    train::TrainingSummary summary = trainer.run();

    // P(fake) of each test image, the descriptions encoded once for both sets.
    AutocastGuard autocast(precision);
    Tensor<float> texts = eval::encode_descriptions(*model, table);
    auto fake_scores = [&](const data::ImageSet& set) {
        return eval::class_scores(
            eval::class_probabilities(eval::encode_images(*model, set), texts, table.counts, model->logit_scale.item()),
            1);
    };
    std::vector<int> in_labels = eval::binary_labels(in_distribution.labels, 1),
                     cross_labels = eval::binary_labels(cross.labels, 1);
    std::vector<double> in_scores = fake_scores(in_distribution), cross_scores = fake_scores(cross);
    eval::BinaryMetrics in_metrics = eval::binary_metrics(in_labels, in_scores);
    eval::BinaryMetrics cross_metrics = eval::binary_metrics(cross_labels, cross_scores);
    plot::LinePlot roc = eval::roc_plot(eval::roc_curve(in_labels, in_scores), "self-blended (in distribution)");
    eval::RocCurve cross_curve = eval::roc_curve(cross_labels, cross_scores);
    roc.add_series("face swaps (cross-manipulation)", cross_curve.false_positive_rate, cross_curve.true_positive_rate);
    roc.save(out / "roc.svg");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::printf("\n%-34s %8s %8s %8s %8s\n", "test set", "AUC", "AP", "EER", "accuracy");
    for (auto [name, metrics] :
         {std::pair{"self-blended (in distribution)", in_metrics}, {"face swaps (cross-manipulation)", cross_metrics}})
        std::printf("%-34s %8.4f %8.4f %8.4f %8.4f\n", name, metrics.roc_auc, metrics.average_precision,
                    metrics.equal_error_rate, metrics.accuracy);
    std::printf("\nbest epoch %lld of %lld (validation loss %.4f); plots: %s, %s\n",
                (long long)(summary.best_epoch + 1), (long long)summary.epochs, summary.best_validation_loss,
                (out / "roc.svg").c_str(), (out / "loss.svg").c_str());
    io::Json result = {{"in_distribution_auc", in_metrics.roc_auc},
                       {"cross_manipulation_auc", cross_metrics.roc_auc},
                       {"seconds", std::round(seconds * 10) / 10},
                       {"roc_plot", (out / "roc.svg").string()},
                       {"loss_plot", (out / "loss.svg").string()},
                       {"steps", summary.steps},
                       {"seed", seed}};
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
