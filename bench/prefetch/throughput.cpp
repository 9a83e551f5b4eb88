// Training throughput with and without prefetching (TrainerOptions::prefetch), alternating runs,
// one JSON line per run. See bench/README.md for the data and model it was measured on.
//   bench_prefetch DATA_DIR MODEL.safetensors VOCAB DESCRIPTION_SET [UPDATES] [ROUNDS]
#include <clipft/clip.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

using namespace clipft;

int main(int argc, char** argv) try {
    if (argc < 5) {
        std::cerr << "usage: bench_prefetch DATA_DIR MODEL.safetensors VOCAB DESCRIPTION_SET [UPDATES=20] [ROUNDS=3]\n";
        return 2;
    }
    const std::vector<std::string> classes{"real", "fake"};
    const std::int64_t updates = argc > 5 ? std::atoll(argv[5]) : 20, rounds = argc > 6 ? std::atoll(argv[6]) : 3;
    data::Dataset dataset = data::Dataset::open(argv[1], classes);
    text::DescriptionSet set = text::DescriptionSet::load(argv[4], classes);
    text::Tokenizer tokenizer = text::Tokenizer::load(argv[3]);
    for (std::int64_t round = 0; round < rounds; ++round)
        for (bool prefetch : {true, false}) {
            auto model = models::load_clip<float>(argv[2]);
            train::TrainerOptions options;
            options.sampler = {.k = 2, .groups_per_batch = 8, .seed = 1};
            options.max_steps = updates;
            options.batches_per_epoch = updates + 1; // no validation inside the timed updates
            options.progress = false;
            options.prefetch = prefetch;
            options.output_dir = std::filesystem::temp_directory_path() / "clipft_bench_prefetch";
            const std::int64_t size = model->config.vision.image_size;
            train::Trainer trainer(
                *model, data::image_set(dataset, {.size = size}, image::Augmentation::parse("flip,jitter=0.2")),
                data::image_set(dataset.balanced(8, 0), {.size = size}),
                text::TokenizedDescriptions::from_texts(set.descriptions, tokenizer), options);
            auto start = std::chrono::steady_clock::now();
            trainer.run();
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("{\"prefetch\": %s, \"images_per_second\": %.2f}\n", prefetch ? "true" : "false",
                        double(updates * 16) / seconds);
            std::fflush(stdout);
        }
    return 0;
} catch (const std::exception& error) {
    std::cerr << "bench_prefetch: " << error.what() << "\n";
    return 1;
}
