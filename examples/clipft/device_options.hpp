#pragma once
// --device and --precision of the commands that run a model (clipft eval, zero-shot and every
// clipft-experiment command; clipft finetune has its own, which also places MPI ranks).
#include "options.hpp"

#include <clipft/autocast.hpp>
#include <clipft/device.hpp>

namespace clipft::cli {

inline const char* device_options_help =
    "  device:    --device cpu|cuda|cuda:N (cuda needs a clipft built with CUDA)  --precision "
    "float32|bfloat16|float16\n"
    "             (the products' precision; bfloat16 on CPUs with AVX512-BF16, float16 on a GPU only)\n";

inline std::vector<OptionSpec> device_option_specs() {
    return {{"device", OptionSpec::Kind::value, "cpu"}, {"precision", OptionSpec::Kind::value, "float32"}};
}

inline Device device_option(const Options& options) {
    Device device;
    try {
        device = Device::parse(options.text("device"));
    } catch (const Error& error) {
        throw UsageError(std::string("--device: ") + error.what());
    }
#ifndef CLIPFT_WITH_CUDA
    if (device.is_cuda())
        throw UsageError(
            "--device " + options.text("device") +
            ": this program was built without CUDA (nvcc was not found when "
            "it was configured, or, for clipft-experiment, CLIPFT_EXPERIMENTS_ON_GPU was off); install the CUDA "
            "toolkit and build again (cmake -DCLIPFT_EXPERIMENTS_ON_GPU=ON), or use --device cpu");
#endif
    return device;
}

// The precision of the products (autocast.hpp): float32, bfloat16 (CPU or GPU) or float16 (GPU only).
inline Precision precision_option(const Options& options, const Device& device) {
    Precision precision;
    try {
        precision = parse_precision(options.text("precision"));
    } catch (const Error& error) {
        throw UsageError(std::string("--precision: ") + error.what());
    }
    if (precision == Precision::float16 && device.is_cpu())
        throw UsageError(
            "--precision float16 needs a GPU's products (--device cuda); on the CPU use float32 or bfloat16");
    return precision;
}

// The commands that compute on the CPU alone.
inline Precision cpu_precision(const Options& options) { return precision_option(options, Device::cpu()); }

} // namespace clipft::cli
