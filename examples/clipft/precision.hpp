#pragma once
// --precision float32|bfloat16 of the commands that compute on the CPU: the precision their
// products run in (autocast.hpp). float16 products exist only on a GPU.
#include "options.hpp"

#include <clipft/autocast.hpp>

namespace clipft::cli {

inline Precision cpu_precision(const Options& options) {
    Precision precision = Precision::float32;
    try {
        precision = parse_precision(options.text("precision"));
    } catch (const Error& error) {
        throw UsageError(std::string("--precision: ") + error.what());
    }
    if (precision == Precision::float16)
        throw UsageError("--precision float16 needs a GPU's products (clipft finetune --device cuda); on the CPU use "
                         "float32 or bfloat16");
    return precision;
}

} // namespace clipft::cli
