// The trainer on the tiny reference model and generated two-class images: the validation loss
// falls, the best weights are kept and written, metrics and plots appear, gradient accumulation
// sums the same gradients, and a resumed run (with seeded augmentation) continues bit for bit.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "training_data.hpp"

#include <clipft/models/checkpoint.hpp>
#include <clipft/train/trainer.hpp>

#include <fstream>

using namespace clipft;
using testing::deepfake_descriptions;
using testing::generated_images;
using testing::small_run;

namespace {

std::unique_ptr<models::CLIP<float>> tiny_model() {
    return models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
}

std::size_t line_count(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    return lines;
}

} // namespace

TEST_CASE("fine-tuning lowers the validation loss and keeps the best weights") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    testing::TemporaryDirectory folder;
    auto model = tiny_model();
    train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                           small_run(folder.path()));
    double before = trainer.validation_loss();
    train::TrainingSummary summary = trainer.run();
    CHECK(summary.steps == 12);
    CHECK(summary.epochs == 3);
    CHECK(summary.best_validation_loss < before);
    CHECK(summary.best_validation_auc >= 0.0);
    CHECK(summary.best_validation_auc <= 1.0);
    // The model now holds the best weights, which best.safetensors also holds.
    auto best = models::load_clip<float>(folder / "best.safetensors");
    for (const auto& [name, parameter] : model->named_parameters())
        CHECK(best->parameter(name).to_vector() == parameter.to_vector());
    CHECK(trainer.validation_loss() == doctest::Approx(summary.best_validation_loss).epsilon(1e-6));
    CHECK(line_count(folder / "metrics.csv") == 4);       // header + 3 epochs
    CHECK(line_count(folder / "metrics.jsonl") == 3 + 6); // 3 validations, 12 updates logged in pairs
    CHECK(std::filesystem::file_size(folder / "loss.svg") > 0);
    CHECK(std::filesystem::file_size(folder / "auc.svg") > 0);
}

TEST_CASE("early stopping ends a run whose validation loss stalls") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    testing::TemporaryDirectory folder;
    auto model = tiny_model();
    train::TrainerOptions options = small_run(folder.path());
    options.max_epochs = 10;
    options.schedule = optim::LearningRateSchedule::constant_rate(0); // nothing changes: no improvement at all
    options.early_stopping.patience = 2;
    train::TrainingSummary summary =
        train::Trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(), options).run();
    CHECK(summary.stopped_early);
    CHECK(summary.epochs == 3); // the first epoch sets the reference, two more without improvement
    CHECK(summary.best_epoch == 0);
}

TEST_CASE("gradient accumulation over two half batches sums the gradients of one full batch") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    auto first_moments = [](std::int64_t groups, std::int64_t accumulation) {
        testing::TemporaryDirectory folder;
        auto model = tiny_model();
        train::TrainerOptions options = small_run(folder.path());
        options.sampler.groups_per_batch = groups;
        options.accumulation_steps = accumulation;
        options.max_steps = 1;
        // One description per class: half batches would otherwise each draw their own.
        train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(false),
                               options);
        trainer.run();
        std::map<std::string, Tensor<float>> moments;
        for (const auto& [name, state] : trainer.optimizer().state())
            moments[name] = state.exp_avg; // (1 - beta1) * gradient
        return moments;
    };
    auto whole = first_moments(4, 1), accumulated = first_moments(2, 2);
    REQUIRE(whole.size() == accumulated.size());
    for (const auto& [name, moment] : whole) {
        CAPTURE(name);
        CHECK(testing::excess(accumulated.at(name), moment, 1e-3) <= 1e-7); // float rounding of sums in another order
    }
}

// Prefetching loads the same batches earlier, so it must not change a single bit either.
TEST_CASE("a resumed run continues bit for bit, with or without prefetching") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    auto run = [](const std::filesystem::path& folder, std::vector<std::int64_t> stops, bool prefetch) {
        for (std::size_t i = 0; i < stops.size(); ++i) {
            auto model = tiny_model();
            train::TrainerOptions options = small_run(folder);
            options.batches_per_epoch = 3;
            options.max_steps = stops[i];
            options.prefetch = prefetch;
            // Training images "augmented" by a brightness shift drawn from each slot's seed.
            data::ImageSet train_images = generated_images(16, 1);
            train_images.load_augmented = [load = train_images.load](const std::vector<std::int64_t>& items,
                                                                     const std::vector<std::uint64_t>& seeds) {
                Tensor<float> pixels = load(items).contiguous();
                for (std::size_t slot = 0; slot < items.size(); ++slot) {
                    Generator generator(seeds[slot]);
                    Tensor<float> image = pixels.select(0, std::int64_t(slot));
                    image.copy_(image.contiguous() + float(generator.uniform() - 0.5));
                }
                return pixels;
            };
            train::Trainer trainer(*model, train_images, generated_images(8, 2), deepfake_descriptions(), options);
            if (i > 0) trainer.resume(folder / "checkpoint.safetensors");
            trainer.run();
        }
        return io::load_safetensors(folder / "checkpoint.safetensors");
    };
    auto check_same = [](const io::SafetensorsFile& straight, const io::SafetensorsFile& resumed) {
        REQUIRE(straight.names() == resumed.names());
        for (const std::string& name : straight.names()) {
            CAPTURE(name);
            auto a = straight.bytes(name), b = resumed.bytes(name);
            CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
        }
        io::Json a = io::Json::parse(straight.metadata().at("trainer")),
                 b = io::Json::parse(resumed.metadata().at("trainer"));
        for (io::Json* state : {&a, &b}) {
            state->erase("seconds");
            for (auto& record : state->at("history")) record.erase("seconds");
        }
        CHECK(a == b);
        CHECK(a.at("step") == 5);
    };
    testing::TemporaryDirectory straight_folder, prefetched_folder, resumed_folder;
    // 5 updates: the first epoch (3 updates, then validation) and 2 into the second. The resumed run
    // stops with a look-ahead batch drawn, which its checkpoint must not count as consumed.
    io::SafetensorsFile straight = run(straight_folder.path(), {5}, false);
    SUBCASE("stopped after 2 updates and resumed") { check_same(straight, run(resumed_folder.path(), {2, 5}, false)); }
    SUBCASE("prefetching") { check_same(straight, run(prefetched_folder.path(), {5}, true)); }
    SUBCASE("prefetching, stopped after 2 updates and resumed") {
        check_same(straight, run(resumed_folder.path(), {2, 5}, true));
    }
}

// On the CPU the products stay float32, so float16 training differs from float32 only by the loss
// scaler, whose scales are powers of two: the loss times 2^k and the gradients divided by 2^k again
// must give back every bit (a scaler that forgot to divide would change AdamW's steps: its epsilon
// is not scale-free). The scale doubles after each clean step here, and a resumed run goes on from
// the checkpointed scale.
TEST_CASE("float16's loss scaling changes no bit of a CPU run, and its scale survives a resume") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    auto run = [](const std::filesystem::path& folder, Precision precision, std::vector<std::int64_t> stops) {
        for (std::size_t i = 0; i < stops.size(); ++i) {
            auto model = tiny_model();
            train::TrainerOptions options = small_run(folder);
            options.max_steps = stops[i];
            options.precision = precision;
            options.loss_scaler.growth_interval = 1;
            train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                                   options);
            if (i > 0) trainer.resume(folder / "checkpoint.safetensors");
            trainer.run();
        }
        return io::load_safetensors(folder / "checkpoint.safetensors");
    };
    testing::TemporaryDirectory float32_folder, float16_folder;
    io::SafetensorsFile full = run(float32_folder.path(), Precision::float32, {3});
    io::SafetensorsFile scaled = run(float16_folder.path(), Precision::float16, {1, 3});
    REQUIRE(full.names() == scaled.names());
    for (const std::string& name : full.names()) {
        CAPTURE(name);
        auto a = full.bytes(name), b = scaled.bytes(name);
        CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    }
    io::Json state = io::Json::parse(scaled.metadata().at("trainer"));
    CHECK(state.at("loss_scaler").at("scale").get<double>() == 65536.0 * 8); // 3 clean steps
    CHECK(state.at("loss_scaler").at("skipped_steps") == 0);
    CHECK_FALSE(io::Json::parse(full.metadata().at("trainer")).contains("loss_scaler"));
}

TEST_CASE("the trainer refuses a model with nothing to train and an empty validation set") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    testing::TemporaryDirectory folder;
    auto model = tiny_model();
    model->requires_grad_(false);
    CHECK(testing::error_message([&] {
              train::Trainer(*model, generated_images(4, 1), generated_images(2, 2), deepfake_descriptions(),
                             small_run(folder.path()));
          }).find("no parameter is trainable") != std::string::npos);
    model->requires_grad_(true);
    CHECK(testing::error_message([&] {
              train::Trainer(*model, generated_images(4, 1), data::ImageSet{}, deepfake_descriptions(),
                             small_run(folder.path()));
          }).find("validation set is empty") != std::string::npos);
}
