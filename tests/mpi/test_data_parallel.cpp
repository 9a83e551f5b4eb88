// Data-parallel fine-tuning, run by ctest as `mpirun -np 2` with one thread per rank: two ranks
// sharing each global batch end with the weights one process gets from the same global batches, and
// a run resumes from a checkpoint on another rank count.
//
// Tolerance: 1e-6 in absolute value on every weight. Two ranks compute the same sums as one process
// but grouped differently: each rank's loss is the mean over its half of the groups, and the two
// halves' gradients are then averaged, where one process sums over all groups inside its matrix
// products. The scale factors (1/2, 1/4, ...) are powers of two and exact, so the only difference is
// the order of float32 additions: about 1e-7 relative to the terms summed, which is more relative to
// a gradient that is a small difference of larger terms. AdamW's step, lr * m / (sqrt(v) + 1e-6), is
// about lr in size whatever the gradient's size, so such a gradient can change its step by a few
// percent of lr: with lr = 1e-4 this run's weights differed by up to 3.9e-6 after 6 updates. With
// lr = 1e-5 (still 12 times the thesis' peak of 8e-7) the bound lr x updates x a few percent stays
// under 1e-6, while a wrong shard, a missed or doubled gradient, or ranks out of step would change
// weights by the order of lr itself.
#include "../fixtures.hpp"
#include "../training_data.hpp"

#include <clipft/distributed/mpi_communicator.hpp>
#include <clipft/train/trainer.hpp>

#include <cmath>

using namespace clipft;

namespace {

std::shared_ptr<distributed::Communicator> world() {
    static auto communicator = std::make_shared<distributed::MpiCommunicator>(std::chrono::seconds(120));
    return communicator;
}

train::TrainerOptions run_options(const std::filesystem::path& folder,
                                  std::shared_ptr<distributed::Communicator> communicator) {
    train::TrainerOptions options;
    options.sampler = {.k = 2, .groups_per_batch = 4, .seed = 3};
    options.batches_per_epoch = 3;
    options.max_epochs = 2;
    options.validation_batches = 2;
    options.schedule = optim::LearningRateSchedule::constant_rate(1e-5);
    options.output_dir = folder;
    options.progress = false;
    options.communicator = std::move(communicator);
    return options;
}

std::unique_ptr<models::CLIP<float>> tiny_model() {
    return models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
}

train::TrainingSummary fine_tune(models::CLIP<float>& model, const train::TrainerOptions& options,
                                 const std::filesystem::path& resume_from = {}) {
    train::Trainer trainer(model, testing::generated_images(12, 1), testing::generated_images(6, 2),
                           testing::deepfake_descriptions(), options);
    if (!resume_from.empty()) trainer.resume(resume_from);
    return trainer.run();
}

double max_abs_difference(const models::CLIP<float>& a, const models::CLIP<float>& b) {
    double largest = 0;
    for (const auto& [name, parameter] : a.named_parameters()) {
        std::vector<float> x = parameter.to_vector(), y = b.parameter(name).to_vector();
        for (std::size_t i = 0; i < x.size(); ++i) largest = std::max(largest, std::abs(double(x[i]) - double(y[i])));
    }
    return largest;
}

// The same folder on every rank: rank 0's.
std::filesystem::path shared_folder(const testing::TemporaryDirectory& mine) {
    return world()->broadcast_text(mine.path().string(), 0);
}

} // namespace

TEST_CASE("two ranks train to the weights of one process over the same global batches") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    backend::set_num_threads(1);
    REQUIRE(world()->size() == 2);
    testing::TemporaryDirectory distributed_run, single_run;
    auto distributed_model = tiny_model(), single_model = tiny_model(), untouched = tiny_model();
    train::TrainingSummary distributed_summary =
        fine_tune(*distributed_model, run_options(shared_folder(distributed_run), world()));
    train::TrainingSummary single_summary = fine_tune(*single_model, run_options(single_run.path(), nullptr));

    CHECK(distributed_summary.steps == 6);
    CHECK(max_abs_difference(*single_model, *untouched) > 1e-5); // training moved the weights
    const double difference = max_abs_difference(*distributed_model, *single_model);
    MESSAGE("rank ", world()->rank(), ": largest weight difference to one process: ", difference);
    CHECK(difference <= 1e-6);
    // Validation loss and AUC are reduced over the ranks' shards of the validation set.
    CHECK(distributed_summary.best_epoch == single_summary.best_epoch);
    CHECK(distributed_summary.best_validation_loss ==
          doctest::Approx(single_summary.best_validation_loss).epsilon(1e-5));
    CHECK(distributed_summary.best_validation_auc == doctest::Approx(single_summary.best_validation_auc).epsilon(1e-5));

    // Both replicas hold exactly rank 0's weights.
    for (const auto& [name, parameter] : distributed_model->named_parameters()) {
        std::vector<float> mine = parameter.to_vector(), root = mine;
        world()->broadcast_values(std::span<float>(root), 0);
        CHECK_MESSAGE(mine == root, name);
    }
    // Only rank 0 writes the run's files.
    world()->barrier();
    if (world()->is_root()) CHECK(std::filesystem::exists(distributed_run / "checkpoint.safetensors"));
}

TEST_CASE("a run resumes on another rank count: two ranks then one, one then two") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    backend::set_num_threads(1);
    testing::TemporaryDirectory reference_run, first_half, second_half;
    auto reference = tiny_model();
    train::TrainerOptions straight = run_options(reference_run.path(), nullptr);
    straight.max_steps = 4;
    fine_tune(*reference, straight);

    SUBCASE("two ranks, then one process") {
        auto model = tiny_model();
        train::TrainerOptions first = run_options(shared_folder(first_half), world());
        first.max_steps = 2;
        fine_tune(*model, first);
        world()->barrier(); // rank 0 has written the checkpoint
        train::TrainerOptions second = run_options(second_half.path(), nullptr);
        second.max_steps = 4;
        auto resumed = tiny_model();
        fine_tune(*resumed, second, first.output_dir / "checkpoint.safetensors");
        CHECK(max_abs_difference(*resumed, *reference) <= 1e-6);
    }
    SUBCASE("one process, then two ranks") {
        auto model = tiny_model();
        train::TrainerOptions first = run_options(first_half.path(), nullptr);
        first.max_steps = 2;
        fine_tune(*model, first);
        train::TrainerOptions second = run_options(shared_folder(second_half), world());
        second.max_steps = 4;
        auto resumed = tiny_model();
        fine_tune(*resumed, second, first.output_dir / "checkpoint.safetensors"); // each rank its own copy
        CHECK(max_abs_difference(*resumed, *reference) <= 1e-6);
    }
}
