#pragma once
// --device and --precision of the commands that run a model (clipft eval, zero-shot and every
// clipft-experiment command; clipft finetune has its own, which also places MPI ranks).
#include "options.hpp"

#include <clipft/autocast.hpp>
#include <clipft/device.hpp>

namespace clipft::cli {

inline const char* device_options_help =
    "  device:    --device cpu|cuda|cuda:N  --precision float32|bfloat16|float16 (a GPU's products; needs a clipft built\n"
    "             with CUDA; the CPU computes in float32)\n";

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
        throw UsageError("--device " + options.text("device") + ": this program was built without CUDA (nvcc was not found when "
                         "it was configured); install the CUDA toolkit and build again, or use --device cpu");
#endif
    return device;
}

inline Precision precision_option(const Options& options, const Device& device) {
    Precision precision;
    try {
        precision = parse_precision(options.text("precision"));
    } catch (const Error& error) {
        throw UsageError(std::string("--precision: ") + error.what());
    }
    if (precision != Precision::float32 && device.is_cpu())
        throw UsageError("--precision " + options.text("precision") + " applies to a GPU's products (--device cuda); the CPU "
                         "computes in float32");
    return precision;
}

} // namespace clipft::cli
