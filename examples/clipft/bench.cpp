// clipft bench: throughput of image or text encoding, one JSON line per measurement. The same
// measurement in PyTorch is bench/clip_torch.py; bench/clip_vs_torch.sh runs both.
#include "adapted_model.hpp"
#include "options.hpp"
#include "device_options.hpp"

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

// The process's CPU time (user + system, every thread) so far: on a shared machine a run's own work,
// which the other processes' load does not inflate as it does the wall time.
double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& span) { return double(span.tv_sec) + 1e-6 * double(span.tv_usec); };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    std::size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

struct Timing {
    double wall_s = 0, cpu_s = 0; // medians of one call
};

// Median wall and CPU times of `iterations` calls of `run` after `warmup` unmeasured ones.
template <typename Run> Timing median_seconds(Run run, long warmup, long iterations) {
    for (long i = 0; i < warmup; ++i) run();
    std::vector<double> walls, cpus;
    for (long i = 0; i < iterations; ++i) {
        auto start = std::chrono::steady_clock::now();
        const double cpu_start = cpu_seconds();
        run();
        cpus.push_back(cpu_seconds() - cpu_start);
        walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    Timing timing;
    timing.wall_s = median(walls);
    timing.cpu_s = median(cpus);
    return timing;
}

// One pairwise fine-tuning step (forward, backward, AdamW on every parameter) on `batch` random
// images in batch / 2 (real, fake) pairs with two random descriptions, like the thesis' training step,
// and as `clipft finetune` runs it by default: each parameter updated as soon as backward() has its
// gradient (optim::AdamW::backward_and_step).
Timing step_seconds(models::CLIP<float>& model, long batch, Generator& generator, long warmup, long iterations) {
    const std::int64_t pairs = batch / 2, size = model.config.vision.image_size;
    Tensor<std::int64_t> slots = Tensor<std::int64_t>::empty({pairs, 2});
    for (std::int64_t i = 0; i < 2 * pairs; ++i) slots.data()[i] = i % 2;
    train::GroupBatch<float> pair_batch =
        train::make_group_batch(randn<float>({pairs, 2, 3, size, size}, generator), slots,
                                random_token_ids(2, model.config.text, generator), slots);
    optim::AdamW<float> optimizer(optim::single_group(model.named_parameters(), 0.2), {1e-5, 0.9, 0.98, 1e-6});
    return median_seconds([&] { optimizer.backward_and_step(train::group_loss(model, pair_batch)); }, warmup,
                          iterations);
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
    if (options.given("model") == options.given("preset"))
        throw UsageError("give exactly one of --model PATH and --preset NAME");
    const std::string what = options.text("what");
    if (what != "image" && what != "text" && what != "step")
        throw UsageError("--what must be image, text or step, got '" + what + "'");
    if (what == "step" && (options.integer("batch") < 2 || options.integer("batch") % 2))
        throw UsageError("--what step needs an even --batch of at least 2 (images in real/fake pairs)");
    const long batch = options.integer("batch"), iterations = options.integer("iters"),
               warmup = options.integer("warmup");
    if (batch < 1 || iterations < 1 || warmup < 0)
        throw UsageError("--batch and --iters must be at least 1 and --warmup at least 0");
    if (options.given("threads")) {
        long threads = options.integer("threads");
        if (threads < 1) throw UsageError("--threads must be at least 1");
        set_num_threads(int(threads));
    }

    const Precision precision = cpu_precision(options);
    Generator generator(std::uint64_t(options.integer("seed")));
    AutocastGuard autocast(precision);
    Timing timing;
    std::int64_t trainable = -1;
    if (what == "step") {
        auto model = make_tower(options, generator, &models::load_clip<float>,
                                [](const CLIPConfig& config) { return std::make_unique<models::CLIP<float>>(config); });
        // What trains: everything (full), the layer norms and logit_scale (layer-norm), a learned
        // prompt context of 4 vectors (prompt), or adapters.
        const std::string method = options.text("method");
        if (method == "layer-norm") {
            train::apply_freeze_policy(train::FreezePolicy::parse("layer-norm"), *model, generator);
        } else if (method == "prompt") {
            model->requires_grad_(false);
            model->text.set_prompt(models::PromptContext<float>::random(4, model->config.text.width, 0, generator));
        } else if (method != "full") {
            models::AdapterOptions adapters = adapter_options_from(options);
            freeze_base(*model, "", adapters);
            models::attach_adapters(*model, adapters, generator);
        }
        model->visual.transformer.checkpoint_activations = model->text.transformer.checkpoint_activations =
            options.flag("checkpoint-activations");
        trainable = models::trainable_parameter_count(*model);
        timing = step_seconds(*model, batch, generator, warmup, iterations);
    } else if (what == "image") {
        NoGradGuard no_grad;
        auto tower = make_tower(options, generator, &models::load_vision_tower<float>, [](const CLIPConfig& config) {
            return std::make_unique<models::VisionTransformer<float>>(config.vision, config.embed_dim);
        });
        std::int64_t size = tower->config.image_size;
        Tensor<float> images = randn<float>({batch, 3, size, size}, generator);
        timing = median_seconds([&] { (*tower)(images); }, warmup, iterations);
    } else {
        NoGradGuard no_grad;
        auto tower = make_tower(options, generator, &models::load_text_tower<float>, [](const CLIPConfig& config) {
            return std::make_unique<models::TextTransformer<float>>(config.text, config.embed_dim);
        });
        Tensor<std::int64_t> ids = random_token_ids(batch, tower->config, generator);
        timing = median_seconds([&] { (*tower)(ids); }, warmup, iterations);
    }

    // "preset" names the model either way: the preset, or the checkpoint's path.
    const std::string source = options.given("model") ? options.text("model") : options.text("preset");
    std::string step_fields; // the step's training setup
    if (what == "step")
        step_fields = ", \"method\": " + io::Json(options.text("method")).dump() +
                      ", \"checkpoint_activations\": " + (options.flag("checkpoint-activations") ? "true" : "false") +
                      ", \"trainable_parameters\": " + std::to_string(trainable);
    std::printf("{\"what\": \"%s\", \"preset\": %s, \"batch\": %ld, \"threads\": %d, \"precision\": \"%s\", "
                "\"items_per_s\": %.4f, "
                "\"median_s\": %.6f, \"median_cpu_s\": %.6f, \"peak_rss_mb\": %.1f%s}\n",
                what.c_str(), io::Json(source).dump().c_str(), batch, num_threads(),
                precision == Precision::bfloat16 ? "bfloat16" : "float32", double(batch) / timing.wall_s, timing.wall_s,
                timing.cpu_s, peak_rss_mb(), step_fields.c_str());
    return 0;
}

} // namespace clipft::cli
