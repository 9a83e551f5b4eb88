#pragma once
// A trainable change of one linear map's weight W [out, in], kept apart from W: the adapted map is
// W·x + b + output_change(x), and weight_change() is the [out, in] matrix that output_change applies,
// so that merging (W += weight_change()) gives the same map as plain weights. nn::Linear and the
// q, k and v rows of nn::MultiheadAttention's fused projection each hold at most one adapter, as a
// sub-module: its parameters are the model's parameters (trained, checkpointed, averaged over ranks
// like any other), and frozen base weights need no copy.
#include <clipft/backends.hpp>
#include <clipft/nn/module.hpp>
#include <clipft/ops.hpp>

#include <memory>

namespace clipft::inline CLIPFT_BACKENDS::nn {

template <Floating T> struct WeightAdapter : Module<T> {
    std::int64_t in_features, out_features;

    WeightAdapter(std::int64_t inputs, std::int64_t outputs) : in_features(inputs), out_features(outputs) {}

    // What the adapter adds to W·x + b for x [..., in]: [..., out].
    virtual Tensor<T> output_change(const Tensor<T>& x) const = 0;
    // The same change as a matrix [out, in].
    virtual Tensor<T> weight_change() const = 0;
};

template <Floating T> using AdapterHandle = std::shared_ptr<WeightAdapter<T>>;

// x·Aᵀ·Bᵀ: a rank-R product of x [..., in] with B [out, R] · A [R, in], never forming B·A.
template <Floating T> Tensor<T> low_rank_product(const Tensor<T>& x, const Tensor<T>& a, const Tensor<T>& b) {
    return ops::linear(ops::linear(x, a), b);
}

} // namespace clipft::nn
