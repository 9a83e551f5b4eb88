#pragma once
// float -> bfloat16 for the CPU's bfloat16 products: round to nearest, ties to even (as PyTorch's
// .bfloat16() and vcvtneps2bf16), 16 values per instruction on CPUs with AVX512-BF16.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/bfloat16_dispatch.hpp>
#include <clipft/scalar_types.hpp>

#include <cstdint>

#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
#include <immintrin.h>
#define CLIPFT_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
// to[i] = bfloat16(from[i * step]) for i < count; step 1 runs 16 at a time. Callers check
// cpu_has_avx512_bf16() first.
CLIPFT_TARGET_AVX512_BF16 inline void convert_to_bfloat16(const float* from, std::int64_t step, std::int64_t count,
                                                          std::uint16_t* to) {
    std::int64_t i = 0;
    if (step == 1) {
        for (; i < count; i += 16) {
            __mmask16 lanes = count - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (count - i)) - 1);
            __m256bh converted = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(lanes, from + i));
            _mm256_mask_storeu_epi16(to + i, lanes, reinterpret_cast<__m256i&>(converted));
        }
        return;
    }
    for (; i < count; ++i) to[i] = BFloat16::from_float(from[i * step]);
}
#endif

} // namespace clipft::backend::cpu
