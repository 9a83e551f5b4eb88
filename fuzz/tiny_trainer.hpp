#pragma once
// The tiny model and trainer that fuzz_checkpoint resumes and make_seeds trains for one update, so
// that the seed checkpoint fits the trainer the fuzzer feeds it to.
#include "../tests/tiny_config.hpp"

#include <clipft/train/trainer.hpp>

namespace clipft::fuzz {

// A trainer of `model` on four black images of two classes, writing to `output_dir`.
inline train::Trainer tiny_trainer(models::CLIP<float>& model, const std::filesystem::path& output_dir) {
    data::ImageSet images{{0, 1, 0, 1}, [](const std::vector<std::int64_t>& items) {
                              return Tensor<float>::zeros({std::int64_t(items.size()), 3, 4, 4});
                          }};
    text::TokenizedDescriptions descriptions{
        Tensor<std::int64_t>::from_vector({6, 1, 7, 0, 6, 2, 7, 0, 6, 3, 7, 0}).reshape({3, 4}), {0, 2}, {2, 1}};
    train::TrainerOptions options;
    options.sampler = {.k = 2, .groups_per_batch = 1, .seed = 1};
    options.output_dir = output_dir;
    options.progress = false;
    options.max_steps = 1;
    options.batches_per_epoch = 1;
    return train::Trainer(model, images, images, descriptions, options);
}

} // namespace clipft::fuzz
