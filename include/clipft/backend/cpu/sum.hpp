#pragma once
// Sums of contiguous rows and columns. Values are added in SIMD lanes of the element type over
// blocks of a few hundred, and the block totals in double: SIMD speed, and long sums (a million
// floats) stay accurate to about double rounding of the blocks.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/simd.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

constexpr std::int64_t sum_block = 512;   // values per SIMD lane block along a row: 512 / lanes each
constexpr std::int64_t column_block = 64; // rows per block down a column: each value is its own lane

template <typename T> double blocked_sum(const T* x, std::int64_t n) {
    constexpr std::int64_t width = Batch<T>::size;
    double total = 0;
    for (std::int64_t start = 0; start < n; start += sum_block) {
        std::int64_t end = std::min(n, start + sum_block), i = start;
        Batch<T> lanes(T(0));
        for (; i + width <= end; i += width) lanes += xsimd::load_unaligned(x + i);
        T block = xsimd::hadd(lanes);
        for (; i < end; ++i) block += x[i];
        total += double(block);
    }
    return total;
}

// out[r] = sum of the r-th row of `inner` values, for `rows` rows.
template <typename T> void sum_rows(const T* in, std::int64_t rows, std::int64_t inner, T* out) {
    if (rows >= 4 * num_threads()) {
        parallel_for(rows, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(inner, 1)),
                     [&](std::int64_t begin, std::int64_t end) {
                         for (std::int64_t r = begin; r < end; ++r) out[r] = T(blocked_sum(in + r * inner, inner));
                     });
        return;
    }
    // Few long rows: split each row over the pool.
    for (std::int64_t r = 0; r < rows; ++r) {
        double total = 0;
        std::mutex merge;
        parallel_for((inner + sum_block - 1) / sum_block, elementwise_grain / sum_block,
                     [&](std::int64_t begin, std::int64_t end) {
                         double part = blocked_sum(in + r * inner + begin * sum_block,
                                                   std::min(inner, end * sum_block) - begin * sum_block);
                         std::lock_guard lock(merge);
                         total += part;
                     });
        out[r] = T(total);
    }
}

// out[c] = sum over `rows` rows of in[i * columns + c]. Each task adds up a band of rows for every
// column (SIMD across columns); the bands' totals are then merged.
template <typename T> void sum_columns(const T* in, std::int64_t rows, std::int64_t columns, T* out) {
    constexpr std::int64_t width = Batch<T>::size;
    std::vector<double> total(std::size_t(columns), 0.0);
    std::mutex merge;
    parallel_for(rows, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(columns, 1)),
                 [&](std::int64_t begin, std::int64_t end) {
                     std::vector<double> band(std::size_t(columns), 0.0);
                     std::vector<T> block(std::size_t(columns), T(0));
                     for (std::int64_t start = begin; start < end; start += column_block) {
                         std::fill(block.begin(), block.end(), T(0));
                         for (std::int64_t i = start; i < std::min(end, start + column_block); ++i) {
                             const T* row = in + i * columns;
                             std::int64_t c = 0;
                             for (; c + width <= columns; c += width)
                                 (xsimd::load_unaligned(block.data() + c) + xsimd::load_unaligned(row + c))
                                     .store_unaligned(block.data() + c);
                             for (; c < columns; ++c) block[c] += row[c];
                         }
                         for (std::int64_t c = 0; c < columns; ++c) band[c] += double(block[c]);
                     }
                     std::lock_guard lock(merge);
                     for (std::int64_t c = 0; c < columns; ++c) total[c] += band[c];
                 });
    for (std::int64_t c = 0; c < columns; ++c) out[c] = T(total[c]);
}

} // namespace clipft::backend::cpu
