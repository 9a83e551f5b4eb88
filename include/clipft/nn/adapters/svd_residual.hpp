#pragma once
// SVD residual adapter (Effort, Yan et al., ICML 2025). W = U·Σ·Vᵀ is decomposed once, in double
// precision; the top min(out, in) − R components W_principal stay frozen and the residual of the
// R smallest singular values trains as U_R [out, R], Σ_R [R], V_R [R, in]:
//   W_adapted = W_principal + U_R·diag(Σ_R)·V_R = W + (U_R·diag(Σ_R)·V_R − U₀·diag(Σ₀)·V₀),
// with U₀, Σ₀, V₀ the residual as decomposed (frozen buffers). The second form needs no copy of
// W_principal and applies to the base weights unchanged (the fused q/k/v rows included); at the
// start both low-rank products are computed from equal values, so the change is exactly zero.
#include <clipft/backends.hpp>
#include <clipft/nn/adapters/singular_value_decomposition.hpp>
#include <clipft/nn/adapters/weight_adapter.hpp>

namespace clipft::inline CLIPFT_BACKENDS::nn {

template <Floating T> struct SVDResidual : WeightAdapter<T> {
    std::int64_t rank;
    Tensor<T> svd_U, svd_S, svd_V;             // trained: [out, R], [R], [R, in]
    Tensor<T> initial_U, initial_S, initial_V; // frozen buffers: the residual as decomposed

    // `weight` [out, in]: the base weight this adapter changes (read, never written).
    SVDResidual(const Tensor<T>& weight, std::int64_t residual_rank)
        : WeightAdapter<T>(weight.size(1), weight.size(0)), rank(residual_rank) {
        const std::int64_t k = std::min(weight.size(0), weight.size(1));
        if (rank < 1 || rank > k)
            fail("SVDResidual: rank ", rank, " must be between 1 and min(out, in) = ", k, " for a weight ",
                 weight.shape());
        SingularValueDecomposition svd = [&] {
            NoGradGuard no_grad;
            return singular_value_decomposition(weight.detach().template to<double>());
        }();
        initial_U = svd.U.narrow(1, k - rank, rank).contiguous().template to<T>().to(weight.device());
        initial_S = svd.S.narrow(0, k - rank, rank).contiguous().template to<T>().to(weight.device());
        initial_V = svd.Vt.narrow(0, k - rank, rank).contiguous().template to<T>().to(weight.device());
        svd_U = this->register_parameter("svd_U", initial_U.clone());
        svd_S = this->register_parameter("svd_S", initial_S.clone());
        svd_V = this->register_parameter("svd_V", initial_V.clone());
        this->register_buffer(initial_U);
        this->register_buffer(initial_S);
        this->register_buffer(initial_V);
    }

    Tensor<T> output_change(const Tensor<T>& x) const override {
        return residual_output(x, svd_U, svd_S, svd_V) - residual_output(x, initial_U, initial_S, initial_V);
    }
    Tensor<T> weight_change() const override {
        return ops::matmul(svd_U * svd_S, svd_V) - ops::matmul(initial_U * initial_S, initial_V);
    }

    // Effort's orthogonality regulariser: ‖U_Rᵀ·U_R − I‖² + ‖V_R·V_Rᵀ − I‖² (squared Frobenius
    // norms), which keeps the trained residual an orthonormal basis as the decomposition left it.
    Tensor<T> orthogonality_penalty() const {
        Tensor<T> identity = Tensor<T>::zeros({rank, rank});
        for (std::int64_t i = 0; i < rank; ++i) identity.data()[i * rank + i] = T(1);
        identity = identity.to(svd_U.device());
        Tensor<T> u = ops::matmul(svd_U.transpose(0, 1), svd_U) - identity;
        Tensor<T> v = ops::matmul(svd_V, svd_V.transpose(0, 1)) - identity;
        return ops::sum(u * u) + ops::sum(v * v);
    }

private:
    static Tensor<T> residual_output(const Tensor<T>& x, const Tensor<T>& u, const Tensor<T>& s, const Tensor<T>& v) {
        return ops::linear(ops::linear(x, v) * s, u);
    }
};

} // namespace clipft::nn
