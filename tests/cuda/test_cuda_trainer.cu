// The trainer on the GPU: the same run as on the CPU up to float rounding, checkpoints that resume
// on either device, progress under bf16 and fp16 autocast, and gradient clipping as on the CPU.
#include "../training_data.hpp"
#include "compare.hpp"

#include <clipft/models/checkpoint.hpp>
#include <clipft/optim/gradient_clipping.hpp>
#include <clipft/train/trainer.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using namespace clipft::testing;

namespace {

train::TrainerOptions short_run(const std::filesystem::path& folder, Precision precision = Precision::float32) {
    train::TrainerOptions options = small_run(folder);
    options.max_epochs = 2;
    options.max_gradient_norm = 1.0;
    options.early_stopping.patience = 0; // every run goes its full length
    options.precision = precision;
    return options;
}

struct Run {
    double loss_before;
    train::TrainingSummary summary;
};

Run fine_tune(Device device, const train::TrainerOptions& options) {
    auto model = models::load_clip<float>(fixture_path("tiny-a/openai.safetensors"));
    model->to(device);
    train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(), options);
    double before = trainer.validation_loss();
    return {before, trainer.run()};
}

} // namespace

TEST_CASE("the trainer on the GPU follows the CPU's run, and its checkpoint resumes on the CPU") {
    if (fixture_path("tiny-a/openai.safetensors").empty()) return;
    TemporaryDirectory cpu_folder, gpu_folder;
    Run on_cpu = fine_tune(Device::cpu(), short_run(cpu_folder.path()));
    Run on_gpu = fine_tune(gpu, short_run(gpu_folder.path()));
    CHECK(on_gpu.loss_before == doctest::Approx(on_cpu.loss_before).epsilon(1e-5));
    CHECK(on_gpu.summary.steps == on_cpu.summary.steps);
    CHECK(on_gpu.summary.best_validation_loss == doctest::Approx(on_cpu.summary.best_validation_loss).epsilon(1e-3));
    CHECK(on_gpu.summary.best_validation_auc == doctest::Approx(on_cpu.summary.best_validation_auc).epsilon(1e-2));
    // The GPU run's checkpoint, one epoch further, on the CPU.
    auto model = models::load_clip<float>(fixture_path("tiny-a/openai.safetensors"));
    train::TrainerOptions longer = short_run(gpu_folder.path());
    longer.max_epochs = 3;
    train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(), longer);
    trainer.resume(trainer.checkpoint_path());
    CHECK(trainer.step() == on_gpu.summary.steps);
    CHECK(trainer.run().steps == on_gpu.summary.steps + 4);
}

TEST_CASE("bf16 and fp16 fine-tuning on the GPU lowers the validation loss") {
    if (fixture_path("tiny-a/openai.safetensors").empty()) return;
    for (Precision precision : {Precision::bfloat16, Precision::float16}) {
        CAPTURE(int(precision));
        TemporaryDirectory folder;
        Run run = fine_tune(gpu, short_run(folder.path(), precision));
        CHECK(std::isfinite(run.summary.best_validation_loss));
        CHECK(run.summary.best_validation_loss < run.loss_before);
    }
}

TEST_CASE("gradient clipping on the GPU measures and scales like the CPU's") {
    std::vector<Tensor<float>> on_cpu{uniform<float>({300, 7}, 1), uniform<float>({5}, 2)}, on_gpu;
    for (Tensor<float>& parameter : on_cpu) {
        on_gpu.push_back(parameter.to(gpu));
        parameter.accumulate_grad(uniform<float>(parameter.shape(), 3));
        on_gpu.back().accumulate_grad(parameter.grad().to(gpu));
    }
    double cpu_norm = optim::clip_gradient_norm(on_cpu, 0.5), gpu_norm = optim::clip_gradient_norm(on_gpu, 0.5);
    CHECK(gpu_norm == doctest::Approx(cpu_norm).epsilon(1e-5));
    CHECK(cpu_norm > 0.5);
    for (std::size_t i = 0; i < on_cpu.size(); ++i) CHECK(excess(on_gpu[i].grad(), on_cpu[i].grad(), 1e-5) <= 1e-6);
}
