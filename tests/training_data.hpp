#pragma once
// Training tests on the tiny-a reference model: generated images of two classes a model can learn
// to tell apart, deepfake descriptions tokenized with tiny-a's vocabulary, and a short run.
#include "fixtures.hpp"

#include <clipft/data/image_set.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/indexing.hpp>
#include <clipft/random.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/train/trainer.hpp>

namespace clipft::testing {

// Class 0 has a brighter top half, class 1 a brighter bottom half, both under noise; item i has class i % 2.
inline data::ImageSet generated_images(std::int64_t per_class, std::uint64_t seed) {
    Generator generator(seed);
    Tensor<float> pixels = randn<float>({2 * per_class, 3, 32, 32}, generator, 0.0, 0.5);
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < 2 * per_class; ++i) {
        labels.push_back(i % 2);
        Tensor<float> half = pixels.select(0, i).narrow(1, i % 2 == 0 ? 0 : 16, 16);
        half.copy_(half.contiguous() + 1.0f);
    }
    return {labels, [pixels](const std::vector<std::int64_t>& items) {
                return ops::index_select(pixels, 0, Tensor<std::int64_t>::from_vector(items));
            }};
}

// Real (one or two descriptions) and deepfake (one); two descriptions make the description draw matter.
inline text::TokenizedDescriptions deepfake_descriptions(bool several = true) {
    auto tokenizer = text::Tokenizer::load(fixture_path("tiny-a"));
    std::vector<std::string> real{"The image of a person."};
    if (several) real.push_back("A photo of a real person.");
    return text::TokenizedDescriptions::from_texts({real, {"The image of a deepfake."}}, tokenizer);
}

// 3 epochs of 4 updates on batches of 4 groups of 2, at a constant learning rate, writing to `folder`.
inline train::TrainerOptions small_run(const std::filesystem::path& folder) {
    train::TrainerOptions options;
    options.sampler = {.k = 2, .groups_per_batch = 4, .seed = 5};
    options.batches_per_epoch = 4;
    options.max_epochs = 3;
    options.schedule = optim::LearningRateSchedule::constant_rate(1e-3);
    options.log_every = 2;
    options.output_dir = folder;
    options.progress = false;
    return options;
}

} // namespace clipft::testing
