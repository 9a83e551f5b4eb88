// clipft on a GPU, one JSON line per measurement: the pairwise fine-tuning step (forward, backward,
// AdamW on every parameter; `--batch` images in batch / 2 (real, fake) pairs with two descriptions,
// the thesis' step) and image encoding, under bf16 autocast (fp32 master weights and optimizer
// state) or in fp32. bench/cuda_step_torch.py measures the same in PyTorch eager on the same GPU;
// bench/README.md has the command that runs both.
//
//     clipft_cuda_step [--preset L14] [--what step|image] [--batch N] [--precision bf16|fp32]
//                      [--iters N] [--warmup N] [--seed S]
#include <clipft/autocast.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/random.hpp>
#include <clipft/train/group_batch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace clipft;

namespace {

const Device gpu = Device::cuda(0);

struct Arguments {
    std::string preset = "L14", what = "step", precision = "bf16";
    long batch = 16, iterations = 10, warmup = 3;
    std::uint64_t seed = 0;
};

Arguments parse(int argc, char** argv) {
    Arguments arguments;
    std::map<std::string, std::string> given;
    for (int i = 1; i < argc; ++i) {
        std::string name = argv[i];
        if (name.rfind("--", 0) != 0 || i + 1 >= argc)
            fail("clipft_cuda_step: expected --name value pairs, got '", name,
                 "' (see the usage at the top of bench/cuda_step.cu)");
        given[name.substr(2)] = argv[++i];
    }
    auto number = [&](const std::string& name, long fallback) {
        if (!given.count(name)) return fallback;
        char* end = nullptr;
        long value = std::strtol(given[name].c_str(), &end, 10);
        if (*end || value < 0)
            fail("clipft_cuda_step: --", name, " must be a non-negative integer, got '", given[name], "'");
        return value;
    };
    for (auto& [name, value] : given)
        if (name != "preset" && name != "what" && name != "precision" && name != "batch" && name != "iters" &&
            name != "warmup" && name != "seed")
            fail("clipft_cuda_step: unknown option --", name);
    if (given.count("preset")) arguments.preset = given["preset"];
    if (given.count("what")) arguments.what = given["what"];
    if (given.count("precision")) arguments.precision = given["precision"];
    arguments.batch = number("batch", arguments.what == "image" ? 64 : 16);
    arguments.iterations = number("iters", arguments.iterations);
    arguments.warmup = number("warmup", arguments.warmup);
    arguments.seed = std::uint64_t(number("seed", 0));
    if (arguments.what != "step" && arguments.what != "image") fail("clipft_cuda_step: --what must be step or image");
    if (arguments.precision != "bf16" && arguments.precision != "fp32")
        fail("clipft_cuda_step: --precision must be bf16 or fp32");
    if (arguments.batch < 1 || arguments.iterations < 1)
        fail("clipft_cuda_step: --batch and --iters must be at least 1");
    if (arguments.what == "step" && arguments.batch % 2) fail("clipft_cuda_step: --what step needs an even --batch");
    return arguments;
}

// As `clipft bench` does: N(0, 0.02) everywhere except the layer norms (weight 1, bias 0).
void randomize(nn::Module<float>& module, Generator& generator) {
    for (auto& [name, parameter] : module.named_parameters()) {
        if (name.find("ln_") != std::string::npos) continue;
        float* data = parameter.data();
        for (std::int64_t i = 0; i < parameter.numel(); ++i) data[i] = float(0.02 * generator.normal());
    }
}

Tensor<std::int64_t> random_token_ids(std::int64_t batch, const models::TextConfig& config, Generator& generator) {
    const std::int64_t length = config.context_length;
    Tensor<std::int64_t> ids = Tensor<std::int64_t>::empty({batch, length});
    for (std::int64_t i = 0; i < batch * length; ++i)
        ids.data()[i] = std::int64_t(generator.uniform_integer(std::uint64_t(config.end_of_text_id - 1)));
    for (std::int64_t b = 0; b < batch; ++b)
        ids.data()[b * length + std::int64_t(generator.uniform_integer(std::uint64_t(length)))] = config.end_of_text_id;
    return ids;
}

// Median wall time of `iterations` runs after `warmup` unmeasured ones, each run waited for.
template <typename Run> double median_seconds(Run run, long warmup, long iterations) {
    for (long i = 0; i < warmup; ++i) run();
    backend::cuda::synchronize();
    std::vector<double> times;
    for (long i = 0; i < iterations; ++i) {
        auto start = std::chrono::steady_clock::now();
        run();
        backend::cuda::synchronize();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::size_t middle = times.size() / 2;
    return times.size() % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
}

int run(const Arguments& arguments) {
    if (backend::cuda::device_count() == 0) fail("clipft_cuda_step: no CUDA device on this machine");
    Generator generator(arguments.seed);
    models::CLIPConfig config = models::CLIPConfig::preset(arguments.preset);
    auto model = std::make_unique<models::CLIP<float>>(config);
    randomize(*model, generator);
    model->to(gpu);
    Precision precision = arguments.precision == "bf16" ? Precision::bfloat16 : Precision::float32;
    const std::int64_t size = config.vision.image_size;
    double median = 0;
    backend::cuda::synchronize();
    backend::cuda::reset_peak_memory(gpu);
    if (arguments.what == "step") {
        const std::int64_t pairs = arguments.batch / 2;
        Tensor<std::int64_t> slots = Tensor<std::int64_t>::empty({pairs, 2});
        for (std::int64_t i = 0; i < 2 * pairs; ++i) slots.data()[i] = i % 2;
        train::GroupBatch<float> batch =
            train::make_group_batch(randn<float>({pairs, 2, 3, size, size}, generator), slots,
                                    random_token_ids(2, config.text, generator), slots);
        batch.pixels = batch.pixels.to(gpu);
        batch.token_ids = batch.token_ids.to(gpu);
        batch.class_ids = batch.class_ids.to(gpu);
        batch.description_of_slot = batch.description_of_slot.to(gpu);
        optim::AdamW<float> optimizer(optim::single_group(model->named_parameters(), 0.2), {1e-5, 0.9, 0.98, 1e-6});
        median = median_seconds(
            [&] {
                {
                    AutocastGuard autocast(precision);
                    train::group_loss(*model, batch).backward();
                }
                optimizer.step();
                optimizer.zero_grad();
            },
            arguments.warmup, arguments.iterations);
    } else {
        Tensor<float> pixels = randn<float>({arguments.batch, 3, size, size}, generator).to(gpu);
        NoGradGuard no_grad;
        median = median_seconds(
            [&] {
                AutocastGuard autocast(precision);
                model->encode_image(pixels);
            },
            arguments.warmup, arguments.iterations);
    }
    backend::AllocatorStatistics memory = backend::cuda::memory_statistics(gpu);
    cudaDeviceProp properties{};
    CLIPFT_CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
    std::printf("{\"implementation\": \"clipft\", \"what\": \"%s\", \"preset\": \"%s\", \"batch\": %ld, "
                "\"precision\": \"%s\", \"device\": \"%s\", \"items_per_s\": %.4f, \"median_s\": %.6f, "
                "\"peak_allocated_mb\": %.1f, \"reserved_mb\": %.1f}\n",
                arguments.what.c_str(), arguments.preset.c_str(), arguments.batch, arguments.precision.c_str(),
                properties.name, double(arguments.batch) / median, median, double(memory.peak_allocated) / (1 << 20),
                double(memory.reserved) / (1 << 20));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const Error& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
