#pragma once
// SVD residual adapter (Effort, Yan et al., ICML 2025). W = U·Σ·Vᵀ is decomposed once, in double
// precision; the top min(out, in) − R components W_principal stay frozen and the residual of the
// R smallest singular values trains as U_R [out, R], Σ_R [R], V_R [R, in]:
//   W_adapted = W_principal + U_R·diag(Σ_R)·V_R = W + (U_R·diag(Σ_R)·V_R − U₀·diag(Σ₀)·V₀),
// with U₀, Σ₀, V₀ the residual as decomposed (frozen buffers). The second form needs no copy of
// W_principal and applies to the base weights unchanged (the fused q/k/v rows included); at the
// start both low-rank products are computed from equal values, so the change is exactly zero.
//
// The paper's optional regularisers (section 3), with Û = [U_principal, U_R] [out, k] and
// V̂ = [V_principal; V_R] [k, in] the adapted weight's singular vectors (k = min(out, in)) and
// Ŵ = W_principal + U_R·diag(Σ_R)·V_R the adapted weight:
//   orthogonality      L_orth = ‖ÛᵀÛ − I‖²_F + ‖V̂·V̂ᵀ − I‖²_F
//   singular values    L_ksv  = | ‖Ŵ‖²_F − ‖W‖²_F |
// The first keeps the trained vectors orthonormal and orthogonal to the frozen principal subspace,
// the second keeps the weight's energy (Σ σ²) where it was. They need the principal vectors
// U_principal [out, k − R] and V_principal [k − R, in], kept when the adapter is built with
// keep_principal_basis (about two more copies of the weight, so only for training with them).
#include <clipft/backends.hpp>
#include <clipft/nn/adapters/singular_value_decomposition.hpp>
#include <clipft/nn/adapters/weight_adapter.hpp>

namespace clipft::inline CLIPFT_BACKENDS::nn {

template <Floating T> struct SVDResidual : WeightAdapter<T> {
    std::int64_t rank;
    Tensor<T> svd_U, svd_S, svd_V;             // trained: [out, R], [R], [R, in]
    Tensor<T> initial_U, initial_S, initial_V; // frozen buffers: the residual as decomposed
    Tensor<T> principal_U, principal_V; // frozen buffers [out, k − R], [k − R, in]; with keep_principal_basis only

    // `weight` [out, in]: the base weight this adapter changes (read, never written).
    SVDResidual(const Tensor<T>& weight, std::int64_t residual_rank, bool keep_principal_basis = false)
        : WeightAdapter<T>(weight.size(1), weight.size(0)), rank(residual_rank) {
        const std::int64_t k = std::min(weight.size(0), weight.size(1));
        if (rank < 1 || rank > k)
            fail("SVDResidual: rank ", rank, " must be between 1 and min(out, in) = ", k, " for a weight ",
                 weight.shape());
        SingularValueDecomposition svd = [&] {
            NoGradGuard no_grad;
            return singular_value_decomposition(weight.detach().template to<double>());
        }();
        auto frozen = [&](const Tensor<double>& factor) {
            return factor.contiguous().template to<T>().to(weight.device());
        };
        initial_U = frozen(svd.U.narrow(1, k - rank, rank));
        initial_S = frozen(svd.S.narrow(0, k - rank, rank));
        initial_V = frozen(svd.Vt.narrow(0, k - rank, rank));
        svd_U = this->register_parameter("svd_U", initial_U.clone());
        svd_S = this->register_parameter("svd_S", initial_S.clone());
        svd_V = this->register_parameter("svd_V", initial_V.clone());
        this->register_buffer(initial_U);
        this->register_buffer(initial_S);
        this->register_buffer(initial_V);
        if (keep_principal_basis) {
            principal_U = this->register_buffer(frozen(svd.U.narrow(1, 0, k - rank)));
            principal_V = this->register_buffer(frozen(svd.Vt.narrow(0, 0, k - rank)));
        }
    }

    Tensor<T> output_change(const Tensor<T>& x) const override {
        return residual_output(x, svd_U, svd_S, svd_V) - residual_output(x, initial_U, initial_S, initial_V);
    }
    Tensor<T> weight_change() const override {
        return ops::matmul(svd_U * svd_S, svd_V) - ops::matmul(initial_U * initial_S, initial_V);
    }

    // L_orth by blocks: ÛᵀÛ − I = [[U_pᵀU_p − I, U_pᵀU_R], [U_RᵀU_p, U_RᵀU_R − I]] (p: principal), so
    //   L_orth = ‖U_RᵀU_R − I‖² + 2‖U_pᵀU_R‖² + ‖V_R·V_Rᵀ − I‖² + 2‖V_p·V_Rᵀ‖²,
    // less the frozen blocks ‖U_pᵀU_p − I‖² + ‖V_p·V_pᵀ − I‖², zero but for rounding and without gradient.
    // (Û·Ûᵀ − I, which the authors' code takes for U, differs from ÛᵀÛ − I by the constant out − k.)
    Tensor<T> orthogonality_penalty() const {
        if (!principal_U.defined())
            fail("SVDResidual::orthogonality_penalty: the adapter was built without its principal basis; build it with "
                 "keep_principal_basis (models::AdapterOptions::svd_principal_basis) to train with the regularisers");
        Tensor<T> identity = Tensor<T>::zeros({rank, rank});
        for (std::int64_t i = 0; i < rank; ++i) identity.data()[i * rank + i] = T(1);
        identity = identity.to(svd_U.device());
        auto squared_norm = [](const Tensor<T>& matrix) { return ops::sum(matrix * matrix); };
        Tensor<T> penalty = squared_norm(ops::matmul(svd_U.transpose(0, 1), svd_U) - identity) +
                            squared_norm(ops::matmul(svd_V, svd_V.transpose(0, 1)) - identity);
        if (principal_U.size(1) == 0) return penalty; // rank = min(out, in): nothing is principal
        return penalty + (squared_norm(ops::matmul(principal_U.transpose(0, 1), svd_U)) +
                          squared_norm(ops::matmul(principal_V, svd_V.transpose(0, 1)))) *
                             T(2);
    }

    // L_ksv for the base weight W [out, in] as it is now (a constant here: the regulariser constrains
    // the residual), as |⟨Ŵ − W, Ŵ + W⟩| = |⟨ΔW, 2W + ΔW⟩|: no difference of two large norms, and
    // exactly zero at the start, where ΔW is.
    Tensor<T> singular_value_penalty(const Tensor<T>& weight) const {
        if (weight.shape() != Shape{this->out_features, this->in_features})
            fail("SVDResidual::singular_value_penalty: the base weight has shape ", weight.shape(),
                 ", the adapter changes one [", this->out_features, ", ", this->in_features, "]");
        Tensor<T> change = weight_change();
        return ops::abs(ops::sum(change * (weight.detach() * T(2) + change)));
    }

private:
    static Tensor<T> residual_output(const Tensor<T>& x, const Tensor<T>& u, const Tensor<T>& s, const Tensor<T>& v) {
        return ops::linear(ops::linear(x, v) * s, u);
    }
};

} // namespace clipft::nn
