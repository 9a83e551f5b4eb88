#pragma once
// clipft's bfloat16 matrix product for CPUs with AVX512-BF16: C = alpha * op(A) op(B) + beta * C
// with float operands read as bfloat16 and float accumulation, in the style of BLIS. Operands are
// converted while they are packed into panels whose elements are pairs of bfloat16 along k (the
// operand layout of vdpbf16ps, which multiplies 16 such pairs by 16 pairs and adds both products to
// 16 float lanes: 32 multiply-adds per instruction, twice float FMA's). A register tile of 12 rows by
// 32 columns keeps 24 accumulators; each step of two k broadcasts one pair of A per row against two
// vectors of B. Since packing converts, weights need no cached bfloat16 copy: every product reads
// the float masters as they are now.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/bfloat16_convert.hpp>
#include <clipft/backend/cpu/strided_matrix.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

using StridedFloats = StridedMatrix<float>;

#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
namespace bfloat16_gemm {

constexpr std::int64_t tile_rows = 12, tile_columns = 32;
constexpr std::int64_t depth_block = 1024;         // k per packed block (even): measured best, 384..1536
constexpr std::int64_t row_block = 40 * tile_rows; // rows of A per packed block: A's block fits in L2

// The first `count` of 16 lanes.
inline __mmask16 first_lanes(std::int64_t count) {
    return __mmask16((1u << std::clamp<std::int64_t>(count, 0, 16)) - 1);
}

// Transposes 16 rows of 16 32-bit elements in place. The zero-masked forms with every lane kept: GCC
// 12's plain forms start from an undefined register and warn (-Wuninitialized) wherever inlined.
CLIPFT_TARGET_AVX512_BF16 inline void transpose_16x16(__m512i rows[16]) {
    const __mmask16 all = 0xffff;
    const __mmask8 all_pairs = 0xff;
    __m512i t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_maskz_unpacklo_epi32(all, rows[2 * i], rows[2 * i + 1]);
        t[2 * i + 1] = _mm512_maskz_unpackhi_epi32(all, rows[2 * i], rows[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        rows[4 * i + 0] = _mm512_maskz_unpacklo_epi64(all_pairs, t[4 * i + 0], t[4 * i + 2]);
        rows[4 * i + 1] = _mm512_maskz_unpackhi_epi64(all_pairs, t[4 * i + 0], t[4 * i + 2]);
        rows[4 * i + 2] = _mm512_maskz_unpacklo_epi64(all_pairs, t[4 * i + 1], t[4 * i + 3]);
        rows[4 * i + 3] = _mm512_maskz_unpackhi_epi64(all_pairs, t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 4; ++j) {
            t[8 * i + j] = _mm512_maskz_shuffle_i32x4(all, rows[8 * i + j], rows[8 * i + 4 + j], 0x88);
            t[8 * i + 4 + j] = _mm512_maskz_shuffle_i32x4(all, rows[8 * i + j], rows[8 * i + 4 + j], 0xdd);
        }
    for (int j = 0; j < 8; ++j) {
        rows[j] = _mm512_maskz_shuffle_i32x4(all, t[j], t[j + 8], 0x88);
        rows[j + 8] = _mm512_maskz_shuffle_i32x4(all, t[j], t[j + 8], 0xdd);
    }
}

// Packs `rows` rows (of Width, the rest zero) of `source` over `depth` columns into
// out[pair][Width] bfloat16 pairs (column 2 pair in the low half), an odd last column paired with 0;
// for sources whose columns are not contiguous (pack_panels packs the others).
template <std::int64_t Width>
CLIPFT_TARGET_AVX512_BF16 void pack_pairs(StridedFloats source, std::int64_t rows, std::int64_t depth,
                                          std::uint32_t* out) {
    std::int64_t pairs = (depth + 1) / 2;
    if (source.row_stride == 1 && source.column_stride != 1) {
        // Rows contiguous: two columns of 16 rows become 16 pairs in one conversion and one permute.
        const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                    22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (std::int64_t pair = 0; pair < pairs; ++pair) {
            const float* even = source.data + 2 * pair * source.column_stride;
            bool has_odd = 2 * pair + 1 < depth;
            for (std::int64_t r = 0; r < Width; r += 16) {
                std::int64_t stored = std::min<std::int64_t>(16, Width - r);
                std::int64_t valid = std::clamp<std::int64_t>(rows - r, 0, stored);
                __mmask16 read = __mmask16((1u << valid) - 1), write = __mmask16((1u << stored) - 1);
                __m512 low = _mm512_maskz_loadu_ps(read, even + r);
                __m512 high =
                    has_odd ? _mm512_maskz_loadu_ps(read, even + source.column_stride + r) : _mm512_setzero_ps();
                __m512bh both = _mm512_cvtne2ps_pbh(high, low);
                __m512i pairs_of_rows = _mm512_permutexvar_epi16(interleave, reinterpret_cast<__m512i&>(both));
                _mm512_mask_storeu_epi32(out + pair * Width + r, write, pairs_of_rows);
            }
        }
        return;
    }
    // Neither rows nor columns contiguous: each row converted on its own, then its pairs spread out.
    alignas(64) std::uint16_t row[depth_block + 2];
    for (std::int64_t r = 0; r < Width; ++r) {
        if (r >= rows) {
            for (std::int64_t pair = 0; pair < pairs; ++pair) out[pair * Width + r] = 0;
            continue;
        }
        convert_to_bfloat16(source.data + r * source.row_stride, source.column_stride, depth, row);
        row[depth] = 0;
        for (std::int64_t pair = 0; pair < pairs; ++pair)
            out[pair * Width + r] = std::uint32_t(row[2 * pair]) | std::uint32_t(row[2 * pair + 1]) << 16;
    }
}

// Packs `rows` rows of `source` over `depth` columns into consecutive panels of Width rows, as
// pack_pairs does each (panel p at out + p * pairs * Width), the last one zero-padded. Rows with
// contiguous columns (A read in place, B a weight read transposed) go 16 rows at a time through the
// transpose, each pair's 16 rows stored with at most two masked stores, one per panel they fall in.
template <std::int64_t Width>
CLIPFT_TARGET_AVX512_BF16 void pack_panels(StridedFloats source, std::int64_t rows, std::int64_t depth,
                                           std::uint32_t* out) {
    std::int64_t pairs = (depth + 1) / 2, padded_rows = (rows + Width - 1) / Width * Width;
    if (source.column_stride != 1) {
        for (std::int64_t r = 0; r < rows; r += Width)
            pack_pairs<Width>(source.at(r, 0), std::min(Width, rows - r), depth, out + r * pairs);
        return;
    }
    for (std::int64_t r = 0; r < padded_rows; r += 16)
        for (std::int64_t pair = 0; pair < pairs; pair += 16) {
            std::int64_t columns = depth - 2 * pair;
            __mmask16 low = first_lanes(columns), high = first_lanes(columns - 16);
            __m512i block[16];
            for (std::int64_t i = 0; i < 16; ++i) {
                const float* row = source.data + (r + i) * source.row_stride + 2 * pair;
                __m512bh both = r + i < rows ? _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(high, row + 16),
                                                                   _mm512_maskz_loadu_ps(low, row))
                                             : __m512bh(_mm512_setzero_si512());
                block[i] = reinterpret_cast<__m512i&>(both);
            }
            transpose_16x16(block);
            std::int64_t last_row = std::min(r + 16, padded_rows);
            for (std::int64_t i = 0; i < 16 && pair + i < pairs; ++i)
                for (std::int64_t first = r; first < last_row;) {
                    std::int64_t panel = first / Width, end = std::min((panel + 1) * Width, last_row);
                    // Lane j holds row r + j, at element r + j - panel * Width of this pair's row.
                    std::uint32_t* lane_zero = out + panel * pairs * Width + (pair + i) * Width + r - panel * Width;
                    _mm512_mask_storeu_epi32(lane_zero, __mmask16(first_lanes(end - r) & ~first_lanes(first - r)),
                                             block[i]);
                    first = end;
                }
        }
}

// C[rows x columns] = alpha * (packed A tile) (packed B tile) + beta * C over `pairs` pairs of k;
// beta 0 never reads C.
CLIPFT_TARGET_AVX512_BF16 inline void multiply_tile(std::int64_t pairs, const std::uint32_t* a, const std::uint32_t* b,
                                                    float* c, std::int64_t ldc, std::int64_t rows, std::int64_t columns,
                                                    float alpha, float beta) {
    __m512 sum[tile_rows][2];
#pragma GCC unroll 12
    for (int r = 0; r < tile_rows; ++r) sum[r][0] = sum[r][1] = _mm512_setzero_ps();
    for (std::int64_t pair = 0; pair < pairs; ++pair) {
        __m512i left_half = _mm512_loadu_si512(b + pair * tile_columns);
        __m512i right_half = _mm512_loadu_si512(b + pair * tile_columns + 16);
        __m512bh b0 = reinterpret_cast<__m512bh&>(left_half), b1 = reinterpret_cast<__m512bh&>(right_half);
        const std::uint32_t* a_pairs = a + pair * tile_rows;
#pragma GCC unroll 12
        for (int r = 0; r < tile_rows; ++r) {
            __m512i broadcast = _mm512_set1_epi32(int(a_pairs[r]));
            __m512bh a_pair = reinterpret_cast<__m512bh&>(broadcast);
            sum[r][0] = _mm512_dpbf16_ps(sum[r][0], a_pair, b0);
            sum[r][1] = _mm512_dpbf16_ps(sum[r][1], a_pair, b1);
        }
    }
    __mmask16 mask0 = columns >= 16 ? __mmask16(0xffff) : __mmask16((1u << columns) - 1);
    __mmask16 mask1 = columns >= 32   ? __mmask16(0xffff)
                      : columns <= 16 ? __mmask16(0)
                                      : __mmask16((1u << (columns - 16)) - 1);
    __m512 scale = _mm512_set1_ps(alpha), keep = _mm512_set1_ps(beta);
    for (std::int64_t r = 0; r < rows; ++r) {
        float* out = c + r * ldc;
        __m512 v0 = _mm512_mul_ps(sum[r][0], scale), v1 = _mm512_mul_ps(sum[r][1], scale);
        if (beta != 0.0f) {
            v0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask0, out), keep, v0);
            v1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask1, out + 16), keep, v1);
        }
        _mm512_mask_storeu_ps(out, mask0, v0);
        _mm512_mask_storeu_ps(out + 16, mask1, v1);
    }
}

// C[m x n] = alpha * A B + beta * C for A = a (m x k) and B^T = b_transposed (n x k), on this thread.
inline void multiply(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, StridedFloats a,
                     StridedFloats b_transposed, float beta, float* c, std::int64_t ldc) {
    thread_local std::vector<std::uint32_t> packed_a, packed_b;
    std::int64_t max_pairs = (std::min(k, depth_block) + 1) / 2;
    packed_a.resize(std::size_t(std::min(row_block, (m + tile_rows - 1) / tile_rows * tile_rows) * max_pairs));
    packed_b.resize(std::size_t(tile_columns * max_pairs));
    for (std::int64_t row = 0; row < m; row += row_block) {
        std::int64_t block_rows = std::min(row_block, m - row);
        for (std::int64_t depth = 0; depth < k; depth += depth_block) {
            std::int64_t block_depth = std::min(depth_block, k - depth), pairs = (block_depth + 1) / 2;
            float block_beta = depth == 0 ? beta : 1.0f;
            pack_panels<tile_rows>(a.at(row, depth), block_rows, block_depth, packed_a.data());
            for (std::int64_t j = 0; j < n; j += tile_columns) {
                std::int64_t columns = std::min(tile_columns, n - j);
                pack_panels<tile_columns>(b_transposed.at(j, depth), columns, block_depth, packed_b.data());
                for (std::int64_t i = 0; i < block_rows; i += tile_rows)
                    multiply_tile(pairs, packed_a.data() + i * pairs, packed_b.data(), c + (row + i) * ldc + j, ldc,
                                  std::min(tile_rows, block_rows - i), columns, alpha, block_beta);
            }
        }
    }
}

} // namespace bfloat16_gemm
#endif

} // namespace clipft::backend::cpu
