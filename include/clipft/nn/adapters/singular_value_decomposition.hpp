#pragma once
// The thin singular value decomposition W = U·diag(S)·Vᵀ of a matrix [m, n] in double precision,
// by LAPACK's dgesdd from the OpenBLAS that clipft links. Singular values come in descending order.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/tensor.hpp>

#include <algorithm>
#include <vector>

extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                        const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                        int* info);

namespace clipft::inline CLIPFT_BACKENDS::nn {

struct SingularValueDecomposition {
    Tensor<double> U;  // [m, k], k = min(m, n), orthonormal columns
    Tensor<double> S;  // [k], descending
    Tensor<double> Vt; // [k, n], orthonormal rows
};

inline SingularValueDecomposition singular_value_decomposition(const Tensor<double>& matrix) {
    if (matrix.dim() != 2) fail("singular_value_decomposition: expected a matrix, got shape ", matrix.shape());
    const int m = int(matrix.size(0)), n = int(matrix.size(1)), k = std::min(m, n);
    if (k == 0) fail("singular_value_decomposition: the matrix of shape ", matrix.shape(), " is empty");
    // LAPACK is column-major: the row-major [m, n] buffer is the column-major Wᵀ [n, m]. Its
    // decomposition Wᵀ = U'·S·V'ᵀ gives W = V'·S·U'ᵀ, and V'ᵀ (column-major [k, m]) read row-major is
    // W's U [m, k], while U' (column-major [n, k]) read row-major is W's Vᵀ [k, n].
    Tensor<double> a = matrix.to(Device::cpu()).contiguous().clone();
    SingularValueDecomposition result{Tensor<double>::empty({m, k}), Tensor<double>::empty({k}),
                                      Tensor<double>::empty({k, n})};
    const char jobz = 'S';
    int info = 0, lwork = -1;
    std::vector<int> iwork(std::size_t(8 * k));
    double query = 0;
    dgesdd_(&jobz, &n, &m, a.data(), &n, result.S.data(), result.Vt.data(), &n, result.U.data(), &k, &query, &lwork,
            iwork.data(), &info);
    lwork = int(query);
    std::vector<double> work(std::size_t(std::max(1, lwork)));
    if (info == 0)
        dgesdd_(&jobz, &n, &m, a.data(), &n, result.S.data(), result.Vt.data(), &n, result.U.data(), &k, work.data(),
                &lwork, iwork.data(), &info);
    if (info != 0)
        fail("singular_value_decomposition of a matrix ", matrix.shape(), ": LAPACK's dgesdd failed (info ", info,
             info > 0 ? ": did not converge; is the matrix finite?)" : ")");
    return result;
}

} // namespace clipft::nn
