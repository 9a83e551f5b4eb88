#pragma once
// Mixed precision, one switch for both devices: inside an AutocastGuard, the matrix products of
// float tensors (linear, matmul, the patch embedding, attention's per-head products) read their operands
// in bfloat16 (or, on a CUDA device, float16) and accumulate and store in float: on the tensor
// cores, and on CPUs with AVX512-BF16 in vdpbf16ps (backend/cpu/bfloat16_gemm.hpp; other CPUs keep
// float products, backend/cpu/bfloat16_dispatch.hpp). Everything else (normalisations, softmax,
// losses, the optimizer with its float master weights and moments) stays float. Products run in the
// precision active when they run, so keep backward() inside the guard to compute the gradient
// products in it too. The CPU has no float16 product: there, float16 products stay float (the
// trainer and the commands refuse float16 on the CPU).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <string>

namespace clipft::inline CLIPFT_BACKENDS {

enum class Precision { float32, bfloat16, float16 };

// "float32", "bfloat16" or "float16" (or fp32, bf16, fp16).
inline Precision parse_precision(const std::string& text) {
    if (text == "float32" || text == "fp32") return Precision::float32;
    if (text == "bfloat16" || text == "bf16") return Precision::bfloat16;
    if (text == "float16" || text == "fp16") return Precision::float16;
    fail("unknown precision '", text, "'; use float32, bfloat16 or float16 (fp32, bf16, fp16)");
}

class AutocastGuard {
public:
    explicit AutocastGuard(Precision precision) : previous_(current()) { current() = precision; }
    ~AutocastGuard() { current() = previous_; }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

    static Precision precision() { return current(); }

private:
    static Precision& current() {
        thread_local Precision precision = Precision::float32;
        return precision;
    }
    Precision previous_;
};

} // namespace clipft
