#pragma once
// The one place clipft calls BLAS. A matrix operand is described by its pointer, whether it is read
// transposed, and its leading dimension, so transposed views go to BLAS as flags, never as copies.
#include <clipft/backends.hpp>

#include <cblas.h>

#include <cstdint>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

struct MatrixOperand {
    const void* data;
    bool transposed;         // read as op(A) = A^T
    std::int64_t leading;    // distance between rows of the stored (row-major) matrix
};

// C[m x n] = alpha * op(A)[m x k] @ op(B)[k x n] + beta * C, all row-major.
inline void gemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, MatrixOperand a, MatrixOperand b,
                 float beta, float* c, std::int64_t ldc) {
    cblas_sgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
                int(m), int(n), int(k), alpha, static_cast<const float*>(a.data), int(a.leading),
                static_cast<const float*>(b.data), int(b.leading), beta, c, int(ldc));
}

inline void gemm(std::int64_t m, std::int64_t n, std::int64_t k, double alpha, MatrixOperand a, MatrixOperand b,
                 double beta, double* c, std::int64_t ldc) {
    cblas_dgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
                int(m), int(n), int(k), alpha, static_cast<const double*>(a.data), int(a.leading),
                static_cast<const double*>(b.data), int(b.leading), beta, c, int(ldc));
}

} // namespace clipft::backend::cpu
