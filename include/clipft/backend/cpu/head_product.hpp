#pragma once
// The small matrix products of one attention head on the CPU (ops/attention.hpp runs one per
// (batch, head) on each thread of the pool): operands read in place through their strides. Under
// bfloat16 autocast they run on the bfloat16 kernel that every other product uses.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/bfloat16_gemm.hpp>
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/backend/cpu/strided_matrix.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// C[m x n] = alpha * A[m x k] B[k x n] for the small products of one attention head, in the style of
// BLIS: a register-blocked kernel computes each tile of up to 12 rows by one SIMD batch of columns
// over all of k, broadcasting A's elements against rows of B. Operands are read in place where their
// layout allows (B with unit-stride rows, A with unit-stride columns); otherwise, and for the ragged
// last tiles, they are first packed into panels. One instance per thread owns the buffers.
//
// `kernel` is the calling thread's active_product_kernel(), read before the heads go to the pool (the
// precision is per thread). Its bfloat16 products of float heads run on clipft's kernel, which packs
// strided operands in place, also where the other products take cblas_sbgemm (which reads only
// contiguous bfloat16 copies); without AVX512-BF16 they stay float.
template <typename T> class HeadProduct {
public:
    explicit HeadProduct(BFloat16Kernel kernel)
        : in_bfloat16_(std::is_same_v<T, float> && kernel != BFloat16Kernel::float32 && cpu_has_avx512_bf16()) {}

    void operator()(std::int64_t m, std::int64_t n, std::int64_t k, T alpha, StridedMatrix<T> a, StridedMatrix<T> b,
                    T* c, std::int64_t ldc) {
#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
        if constexpr (std::is_same_v<T, float>)
            if (in_bfloat16_ && k > 0) return bfloat16_gemm::multiply(m, n, k, alpha, a, b.transposed(), 0.0f, c, ldc);
#endif
        panels_b_.clear();
        packed_b_.resize(std::size_t(((n + width - 1) / width) * k * width));
        for (std::int64_t j = 0; j < n; j += width) {
            if (b.column_stride == 1 && j + width <= n) {
                panels_b_.push_back({b.data + j, b.row_stride});
                continue;
            }
            // Packed as the rows of B^T; lanes past the end repeat the last column, never stored.
            const T* column[width];
            for (std::int64_t lane = 0; lane < width; ++lane)
                column[lane] = b.data + std::min(j + lane, n - 1) * b.column_stride;
            T* panel = packed_b_.data() + (j / width) * k * width;
            pack_rows(column, b.row_stride, k, panel, std::make_index_sequence<width>());
            panels_b_.push_back({panel, width});
        }
        packed_a_.resize(std::size_t(k * max_rows));
        for (std::int64_t i = 0; i < m; i += max_rows) {
            std::int64_t rows = std::min(max_rows, m - i);
            if (rows > 8)
                row_panel<12>(i, rows, k, alpha, a, c, ldc, n);
            else if (rows > 4)
                row_panel<8>(i, rows, k, alpha, a, c, ldc, n);
            else
                row_panel<4>(i, rows, k, alpha, a, c, ldc, n);
        }
    }

private:
    static constexpr std::int64_t width = Batch<T>::size;
    static constexpr std::int64_t max_rows = 12;

    struct Panel {
        const T* data;
        std::int64_t step; // between consecutive k
    };

    // Rows [i, i + rows) of C, computed as a tile of Rows rows.
    template <int Rows>
    void row_panel(std::int64_t i, std::int64_t rows, std::int64_t k, T alpha, StridedMatrix<T> a, T* c,
                   std::int64_t ldc, std::int64_t n) {
        Panel panel_a{a.data + i, a.column_stride};
        if (a.row_stride != 1 || rows < Rows) {
            // Rows past the end repeat the last one: their results are computed but never stored.
            const T* row[Rows];
            for (std::int64_t r = 0; r < Rows; ++r) row[r] = a.data + (i + std::min(r, rows - 1)) * a.row_stride;
            pack_rows(row, a.column_stride, k, packed_a_.data(), std::make_index_sequence<Rows>());
            panel_a = {packed_a_.data(), Rows};
        }
        for (std::size_t column_panel = 0; column_panel < panels_b_.size(); ++column_panel) {
            Batch<T> sum[Rows];
            tile(panel_a, panels_b_[column_panel], k, sum, std::make_index_sequence<Rows>());
            std::int64_t j = std::int64_t(column_panel) * width, columns = std::min(width, n - j);
            for (std::int64_t r = 0; r < rows; ++r) {
                T* out = c + (i + r) * ldc + j;
                Batch<T> result = sum[r] * Batch<T>(alpha);
                if (columns == width) {
                    result.store_unaligned(out);
                } else {
                    alignas(64) T lanes[width];
                    result.store_aligned(lanes);
                    std::copy(lanes, lanes + columns, out);
                }
            }
        }
    }

    // packed[p * Rows + r] = row[r][p * step], unrolled over the rows.
    template <std::size_t... R>
    static void pack_rows(const T* const* row, std::int64_t step, std::int64_t k, T* packed,
                          std::index_sequence<R...>) {
        constexpr std::int64_t rows = sizeof...(R);
        for (std::int64_t p = 0; p < k; ++p) ((packed[p * rows + std::int64_t(R)] = row[R][p * step]), ...);
    }

    // The register tile: sum[r] = sum_p A(r, p) B(p, :), unrolled over the rows by the parameter pack
    // (not left to the compiler, which at -O2 kept the accumulators in memory).
    template <std::size_t... R>
    static void tile(Panel a, Panel b, std::int64_t k, Batch<T>* sum, std::index_sequence<R...>) {
        Batch<T> accumulator[sizeof...(R)] = {(void(R), Batch<T>(T(0)))...};
        for (std::int64_t p = 0; p < k; ++p) {
            Batch<T> row_b = xsimd::load_unaligned(b.data + p * b.step);
            const T* column_a = a.data + p * a.step;
            ((accumulator[R] = xsimd::fma(Batch<T>(column_a[R]), row_b, accumulator[R])), ...);
        }
        ((sum[R] = accumulator[R]), ...);
    }

    bool in_bfloat16_;
    std::vector<T> packed_a_, packed_b_;
    std::vector<Panel> panels_b_;
};

} // namespace clipft::backend::cpu
