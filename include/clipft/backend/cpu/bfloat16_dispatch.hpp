#pragma once
// Which kernel runs the CPU's float products under AutocastGuard(Precision::bfloat16), decided at
// run time: clipft's own AVX512-BF16 kernel (bfloat16_gemm.hpp) on CPUs with vdpbf16ps, OpenBLAS's
// cblas_sbgemm when asked for and the loaded OpenBLAS exports it (Debian's 0.3.21 does not), and
// float products on every other CPU. CLIPFT_CPU_BF16=off|kernel|sbgemm|auto (default auto) or
// set_bfloat16_kernel() chooses; tests force the float fallback with them.
#include <clipft/backends.hpp>
#include <clipft/autocast.hpp>
#include <clipft/error.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define CLIPFT_CPU_BFLOAT16_KERNEL 1
#include <dlfcn.h>
#endif

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

enum class BFloat16Kernel {
    automatic, // clipft's kernel where the CPU has AVX512-BF16, else float
    own,       // clipft's AVX512-BF16 kernel
    sbgemm,    // OpenBLAS's cblas_sbgemm
    float32,   // the fallback: products stay float
};

// cblas_sbgemm's signature with the CBLAS enums as the ints they are; bf16 operands as raw bits.
using SbgemmFunction = void (*)(int order, int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                                const std::uint16_t* a, int lda, const std::uint16_t* b, int ldb, float beta, float* c,
                                int ldc);

// The loaded OpenBLAS's cblas_sbgemm, or nullptr: looked up rather than linked so that clipft
// builds and runs against OpenBLAS builds without bfloat16 support. Assignable, so that a test can
// stand in a reference function where the OpenBLAS has none and still run clipft's side of the path.
inline SbgemmFunction& openblas_sbgemm() {
#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
    static SbgemmFunction function = reinterpret_cast<SbgemmFunction>(dlsym(RTLD_DEFAULT, "cblas_sbgemm"));
#else
    static SbgemmFunction function = nullptr;
#endif
    return function;
}

inline bool cpu_has_avx512_bf16() {
#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
    static bool has =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
    return has;
#else
    return false;
#endif
}

inline BFloat16Kernel parse_bfloat16_kernel(const std::string& text) {
    if (text == "auto" || text.empty()) return BFloat16Kernel::automatic;
    if (text == "kernel" || text == "own") return BFloat16Kernel::own;
    if (text == "sbgemm" || text == "openblas") return BFloat16Kernel::sbgemm;
    if (text == "off" || text == "float32" || text == "0") return BFloat16Kernel::float32;
    fail("CLIPFT_CPU_BF16='", text, "' is not a bfloat16 kernel: use auto, kernel, sbgemm or off");
}

namespace detail {
inline BFloat16Kernel& requested_bfloat16_kernel() {
    static BFloat16Kernel requested = [] {
        const char* setting = std::getenv("CLIPFT_CPU_BF16");
        return setting ? parse_bfloat16_kernel(setting) : BFloat16Kernel::automatic;
    }();
    return requested;
}
} // namespace detail

// Chooses the kernel for later bfloat16 products (process-wide) and returns the choice before.
// Asking for one this machine cannot run is an error, so a benchmark never measures a silent fallback.
inline BFloat16Kernel set_bfloat16_kernel(BFloat16Kernel kernel) {
    if (kernel == BFloat16Kernel::own && !cpu_has_avx512_bf16())
        fail("bfloat16 kernel: this CPU lacks AVX512-BF16; use the float fallback (CLIPFT_CPU_BF16=off)");
    if (kernel == BFloat16Kernel::sbgemm && !openblas_sbgemm())
        fail("bfloat16 kernel: the loaded OpenBLAS does not export cblas_sbgemm (built without BUILD_BFLOAT16); "
             "use clipft's kernel (CLIPFT_CPU_BF16=kernel)");
    return std::exchange(detail::requested_bfloat16_kernel(), kernel);
}

// The kernel bfloat16 products run on now: never automatic.
inline BFloat16Kernel bfloat16_kernel() {
    BFloat16Kernel requested = detail::requested_bfloat16_kernel();
    if (requested == BFloat16Kernel::automatic)
        return cpu_has_avx512_bf16() ? BFloat16Kernel::own : BFloat16Kernel::float32;
    if (requested == BFloat16Kernel::own && !cpu_has_avx512_bf16()) return BFloat16Kernel::float32;
    if (requested == BFloat16Kernel::sbgemm && !openblas_sbgemm()) return BFloat16Kernel::float32;
    return requested;
}

// The kernel of the float products this thread starts now: bfloat16_kernel() under
// AutocastGuard(Precision::bfloat16), else float. The precision is the thread's own, so work handed
// to the pool reads it first.
inline BFloat16Kernel active_product_kernel() {
    return AutocastGuard::precision() == Precision::bfloat16 ? bfloat16_kernel() : BFloat16Kernel::float32;
}

inline const char* bfloat16_kernel_name(BFloat16Kernel kernel) {
    switch (kernel) {
    case BFloat16Kernel::automatic:
        return "auto";
    case BFloat16Kernel::own:
        return "clipft AVX512-BF16 kernel";
    case BFloat16Kernel::sbgemm:
        return "OpenBLAS cblas_sbgemm";
    case BFloat16Kernel::float32:
        return "float32 (no bfloat16 kernel)";
    }
    return "?";
}

} // namespace clipft::backend::cpu
