#pragma once
// The one place clipft calls BLAS. A matrix operand is described by its pointer, whether it is read
// transposed, and its leading dimension, so transposed views go to BLAS as flags, never as copies.
// OpenBLAS runs single-threaded (backend/threads.hpp): each product large enough to pay for it is
// split into blocks of rows or columns over clipft's pool, so one team of threads, sleeping when
// idle, owns the cores; OpenBLAS's own threads spin-wait and collapse beside other load. Under
// AutocastGuard(Precision::bfloat16) float products read their operands as bfloat16 and accumulate
// in float, on the kernel bfloat16_dispatch.hpp picks.
#include <clipft/backends.hpp>
#include <clipft/autocast.hpp>
#include <clipft/backend/cpu/bfloat16_gemm.hpp>
#include <clipft/backend/threads.hpp>

#include <cblas.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

struct MatrixOperand {
    const void* data;
    bool transposed;      // read as op(A) = A^T
    std::int64_t leading; // distance between rows of the stored (row-major) matrix
};

// Work on a block of C, rows [i0, i1) by columns [j0, j1), run by the thread that has just computed
// it, while the block is still in its caches (a fused epilogue such as bias and activation).
using BlockEpilogue = std::function<void(std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1)>;

namespace detail {

// Multiply-adds below which a product runs on the calling thread: a pool wake-up costs about as
// much as 2^18 of them.
constexpr std::int64_t parallel_product_work = std::int64_t(1) << 18;

// Runs compute(row_begin, row_end, column_begin, column_end), then after_block (if any) with the
// same block, over blocks of C spread on the pool: blocks of columns when C is at least as wide as
// tall (each thread packs all of A, the smaller operand then), else of rows; block edges on
// multiples of clipft's bfloat16 tile.
template <typename Compute>
void split_product(std::int64_t m, std::int64_t n, std::int64_t k, Compute&& compute,
                   const BlockEpilogue& after_block) {
    auto block = [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
        compute(i0, i1, j0, j1);
        if (after_block) after_block(i0, i1, j0, j1);
    };
    // num_threads() first: it also makes OpenBLAS single-threaded before its first call.
    if (num_threads() == 1 || m * n * k < parallel_product_work) return block(std::int64_t(0), m, std::int64_t(0), n);
    if (n >= m) {
        constexpr std::int64_t unit = 32;
        parallel_for((n + unit - 1) / unit, 1, [&](std::int64_t begin, std::int64_t end) {
            block(std::int64_t(0), m, begin * unit, std::min(n, end * unit));
        });
    } else {
        constexpr std::int64_t unit = 12;
        parallel_for((m + unit - 1) / unit, 1, [&](std::int64_t begin, std::int64_t end) {
            block(begin * unit, std::min(m, end * unit), std::int64_t(0), n);
        });
    }
}

// The operand starting at row `row` and column `column` of op(X).
template <typename T>
const T* operand_at(const T* data, const MatrixOperand& x, std::int64_t row, std::int64_t column) {
    return x.transposed ? data + column * x.leading + row : data + row * x.leading + column;
}

inline CBLAS_TRANSPOSE blas_transpose(const MatrixOperand& x) { return x.transposed ? CblasTrans : CblasNoTrans; }

#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
// op(X) [rows x columns] as the strided float matrix clipft's bfloat16 kernel packs from.
inline StridedFloats strided(const MatrixOperand& x) {
    const float* data = static_cast<const float*>(x.data);
    return x.transposed ? StridedFloats{data, 1, x.leading} : StridedFloats{data, x.leading, 1};
}

// The stored matrix behind op(X) [rows x columns] converted to contiguous bfloat16, for cblas_sbgemm.
inline std::vector<std::uint16_t> converted_to_bfloat16(const MatrixOperand& x, std::int64_t rows, std::int64_t columns,
                                                        std::int64_t& leading) {
    std::int64_t stored_rows = x.transposed ? columns : rows, stored_columns = x.transposed ? rows : columns;
    std::vector<std::uint16_t> converted(std::size_t(stored_rows * stored_columns));
    leading = stored_columns;
    parallel_for(stored_rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(stored_columns, 1)),
                 [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t r = begin; r < end; ++r)
                         convert_to_bfloat16(static_cast<const float*>(x.data) + r * x.leading, 1, stored_columns,
                                             converted.data() + r * stored_columns);
                 });
    return converted;
}
#endif

} // namespace detail

// C[m x n] = alpha * op(A)[m x k] @ op(B)[k x n] + beta * C, all row-major; k > 0; after_block, if
// given, runs on each block of C as soon as it is computed.
inline void gemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, MatrixOperand a, MatrixOperand b,
                 float beta, float* c, std::int64_t ldc, const BlockEpilogue& after_block = {}) {
    BFloat16Kernel kernel = active_product_kernel();
#ifdef CLIPFT_CPU_BFLOAT16_KERNEL
    if (kernel == BFloat16Kernel::own) {
        StridedFloats left = detail::strided(a), right = detail::strided(b);
        StridedFloats right_transposed = right.transposed(); // op(B)^T, n x k
        return detail::split_product(
            m, n, k,
            [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
                bfloat16_gemm::multiply(i1 - i0, j1 - j0, k, alpha, left.at(i0, 0), right_transposed.at(j0, 0), beta,
                                        c + i0 * ldc + j0, ldc);
            },
            after_block);
    }
    if (kernel == BFloat16Kernel::sbgemm) {
        std::int64_t lda = 0, ldb = 0;
        std::vector<std::uint16_t> left = detail::converted_to_bfloat16(a, m, k, lda);
        std::vector<std::uint16_t> right = detail::converted_to_bfloat16(b, k, n, ldb);
        MatrixOperand a16{left.data(), a.transposed, lda}, b16{right.data(), b.transposed, ldb};
        return detail::split_product(
            m, n, k,
            [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
                openblas_sbgemm()(CblasRowMajor, detail::blas_transpose(a), detail::blas_transpose(b), int(i1 - i0),
                                  int(j1 - j0), int(k), alpha, detail::operand_at(left.data(), a16, i0, 0), int(lda),
                                  detail::operand_at(right.data(), b16, 0, j0), int(ldb), beta, c + i0 * ldc + j0,
                                  int(ldc));
            },
            after_block);
    }
#endif
    (void)kernel;
    detail::split_product(
        m, n, k,
        [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
            cblas_sgemm(CblasRowMajor, detail::blas_transpose(a), detail::blas_transpose(b), int(i1 - i0), int(j1 - j0),
                        int(k), alpha, detail::operand_at(static_cast<const float*>(a.data), a, i0, 0), int(a.leading),
                        detail::operand_at(static_cast<const float*>(b.data), b, 0, j0), int(b.leading), beta,
                        c + i0 * ldc + j0, int(ldc));
        },
        after_block);
}

inline void gemm(std::int64_t m, std::int64_t n, std::int64_t k, double alpha, MatrixOperand a, MatrixOperand b,
                 double beta, double* c, std::int64_t ldc, const BlockEpilogue& after_block = {}) {
    detail::split_product(
        m, n, k,
        [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
            cblas_dgemm(CblasRowMajor, detail::blas_transpose(a), detail::blas_transpose(b), int(i1 - i0), int(j1 - j0),
                        int(k), alpha, detail::operand_at(static_cast<const double*>(a.data), a, i0, 0), int(a.leading),
                        detail::operand_at(static_cast<const double*>(b.data), b, 0, j0), int(b.leading), beta,
                        c + i0 * ldc + j0, int(ldc));
        },
        after_block);
}

} // namespace clipft::backend::cpu
