// clipft bench: throughput of image or text encoding, one JSON line per measurement. The same
// measurement in PyTorch is bench/clip_torch.py; bench/clip_vs_torch.sh runs both.
#include "options.hpp"

#include <clipft/clip.hpp>
#include <clipft/models/checkpoint.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace clipft::cli {

namespace {

using models::CLIPConfig;

// Random weights as a stand-in for a checkpoint: N(0, 0.02) everywhere except the layer norms,
// which keep their identity initialisation (weight 1, bias 0). Drawn in place, so that no temporary
// (the token embedding's is 150 MB) inflates the peak memory being measured.
void randomize(nn::Module<float>& module, Generator& generator) {
    for (auto& [name, parameter] : module.named_parameters()) {
        if (name.find("ln_") != std::string::npos) continue;
        float* data = parameter.data(); // a fresh parameter: contiguous
        for (std::int64_t i = 0; i < parameter.numel(); ++i) data[i] = float(0.02 * generator.normal());
    }
}

// Rows of random token ids with one end-of-text token at a random position, ids below the
// start-of-text token elsewhere: what the tower sees for tokenized text, minus the padding.
Tensor<std::int64_t> random_token_ids(std::int64_t batch, const models::TextConfig& config, Generator& generator) {
    const std::int64_t length = config.context_length;
    Tensor<std::int64_t> ids = Tensor<std::int64_t>::empty({batch, length});
    std::int64_t* out = ids.data();
    for (std::int64_t i = 0; i < batch * length; ++i)
        out[i] = std::int64_t(generator.uniform_integer(std::uint64_t(config.end_of_text_id - 1)));
    for (std::int64_t b = 0; b < batch; ++b)
        out[b * length + std::int64_t(generator.uniform_integer(std::uint64_t(length)))] = config.end_of_text_id;
    return ids;
}

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

// Median wall time of `iterations` forward passes of `tower` after `warmup` unmeasured ones.
template <typename Tower, typename Input>
double median_seconds(const Tower& tower, const Input& input, long warmup, long iterations) {
    for (long i = 0; i < warmup; ++i) tower(input);
    std::vector<double> times;
    for (long i = 0; i < iterations; ++i) {
        auto start = std::chrono::steady_clock::now();
        tower(input);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::size_t middle = times.size() / 2;
    return times.size() % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
}

// One tower, from the checkpoint at --model or built from --preset with random weights.
template <typename Tower, typename Build>
std::unique_ptr<Tower> make_tower(const Options& options, Generator& generator,
                                  std::unique_ptr<Tower> (*load)(const std::filesystem::path&), Build build) {
    if (options.given("model")) return load(options.text("model"));
    CLIPConfig config;
    try {
        config = CLIPConfig::preset(options.text("preset"));
    } catch (const Error& error) {
        throw UsageError(error.what()); // a misspelt option value
    }
    std::unique_ptr<Tower> tower = build(config);
    randomize(*tower, generator);
    return tower;
}

} // namespace

int bench(const Options& options) {
    if (options.given("model") == options.given("preset")) throw UsageError("give exactly one of --model PATH and --preset NAME");
    const std::string what = options.text("what");
    if (what == "step") throw UsageError("--what step is not available yet (it comes with fine-tuning); use image or text");
    if (what != "image" && what != "text") throw UsageError("--what must be image or text, got '" + what + "'");
    const long batch = options.integer("batch"), iterations = options.integer("iters"), warmup = options.integer("warmup");
    if (batch < 1 || iterations < 1 || warmup < 0)
        throw UsageError("--batch and --iters must be at least 1 and --warmup at least 0");
    if (options.given("threads")) {
        long threads = options.integer("threads");
        if (threads < 1) throw UsageError("--threads must be at least 1");
        set_num_threads(int(threads));
    }

    Generator generator(std::uint64_t(options.integer("seed")));
    NoGradGuard no_grad;
    double median = 0;
    if (what == "image") {
        auto tower = make_tower(options, generator, &models::load_vision_tower<float>, [](const CLIPConfig& config) {
            return std::make_unique<models::VisionTransformer<float>>(config.vision, config.embed_dim);
        });
        std::int64_t size = tower->config.image_size;
        median = median_seconds(*tower, randn<float>({batch, 3, size, size}, generator), warmup, iterations);
    } else {
        auto tower = make_tower(options, generator, &models::load_text_tower<float>, [](const CLIPConfig& config) {
            return std::make_unique<models::TextTransformer<float>>(config.text, config.embed_dim);
        });
        median = median_seconds(*tower, random_token_ids(batch, tower->config, generator), warmup, iterations);
    }

    // "preset" names the model either way: the preset, or the checkpoint's path.
    const std::string source = options.given("model") ? options.text("model") : options.text("preset");
    std::printf("{\"what\": \"%s\", \"preset\": %s, \"batch\": %ld, \"threads\": %d, \"items_per_s\": %.4f, "
                "\"median_s\": %.6f, \"peak_rss_mb\": %.1f}\n",
                what.c_str(), io::Json(source).dump().c_str(), batch,
                num_threads(), double(batch) / median, median, peak_rss_mb());
    return 0;
}

} // namespace clipft::cli
