#pragma once
// Scaled dot-product attention, fused: per (batch, head) one product S = scale * Q K^T (the scale
// applied as the product stores S), the additive mask and the softmax applied in place on S's rows
// (the mask added in the softmax's first pass), then O = P V. Backward reuses the saved
// probabilities P. Under bfloat16 autocast the four products of forward and backward read bfloat16
// operands and accumulate in float, like every other product; the softmax stays float. Query, key
// and value may be any strided views (CLIP takes them from one fused qkv projection): the kernels
// read them through their strides, never as contiguous copies.
#include <clipft/backends.hpp>
#include <clipft/backend/attention_shape.hpp>
#include <clipft/backend/cpu/head_product.hpp>
#include <clipft/backend/cpu/softmax.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/ops/checks.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

using backend::cpu::HeadProduct;
using backend::cpu::StridedMatrix;
using backend::AttentionShape;

// Head (b, h) of a [B, H, rows, columns] tensor, read in place through its strides.
template <typename T> StridedMatrix<T> head_matrix(const Tensor<T>& x, std::int64_t b, std::int64_t h) {
    const Shape& s = x.strides();
    return {x.data() + b * s[0] + h * s[1], s[2], s[3]};
}

// Runs body(head, b, h, product, scratch) for every head (head = b * H + h), spread over the pool;
// each thread owns one HeadProduct (in the calling thread's precision) and scratch_size elements of
// scratch.
// Heads run in parallel, each in our single-threaded kernels: faster than per-head threaded OpenBLAS (L=77: 2.8 vs 3.7
// ms).
template <typename T, typename Body>
void for_each_head(const AttentionShape& shape, std::int64_t scratch_size, Body&& body) {
    backend::cpu::BFloat16Kernel kernel = backend::cpu::active_product_kernel();
    backend::parallel_for(shape.batch * shape.heads, 1, [&](std::int64_t begin, std::int64_t end) {
        HeadProduct<T> product(kernel);
        std::vector<T> scratch(static_cast<std::size_t>(scratch_size));
        for (std::int64_t head = begin; head < end; ++head)
            body(head, head / shape.heads, head % shape.heads, product, scratch.data());
    });
}

// Attention on a CUDA device with the fused kernels: only each query row's log-normaliser is saved
// for backward, never the probabilities.
template <Floating T>
Tensor<T> attention_on_device(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                              const Tensor<T>& mask, const Shape& mask_strides, const AttentionShape& shape, T factor) {
    using backend::cuda::AttentionOperand;
    auto operand = [](const Tensor<T>& x) {
        return AttentionOperand<T>{x.data(), {x.strides()[0], x.strides()[1], x.strides()[2], x.strides()[3]}};
    };
    Device device = query.device();
    Tensor<T> q = query.detach(), k = key.detach(), v = value.detach(),
              mask_values = mask.defined() ? mask.detach() : Tensor<T>();
    AttentionOperand<T> mask_operand{mask_values.defined() ? mask_values.data() : nullptr,
                                     {mask_strides[0], mask_strides[1], mask_strides[2], mask_strides[3]}};
    Tensor<T> out = Tensor<T>::empty({shape.batch, shape.heads, shape.query_length, shape.value_dim}, device);
    Tensor<T> log_normalisers = Tensor<T>::empty({shape.batch, shape.heads, shape.query_length}, device);
    backend::cuda::attention_forward(operand(q), operand(k), operand(v), mask_operand, shape, double(factor),
                                     out.data(), log_normalisers.data());
    bool grad_query = needs_grad(query), grad_key = needs_grad(key), grad_value = needs_grad(value);
    if (!grad_query && !grad_key && !grad_value) return out;
    record("scaled_dot_product_attention", out, {query, key, value}, [=, output = out.detach()](const Tensor<T>& grad) {
        Tensor<T> grad_out = dense(grad);
        Tensor<T> delta = Tensor<T>::empty(log_normalisers.shape(), device);
        auto gradient_of = [&](bool wanted, std::int64_t length, std::int64_t dim) {
            return wanted ? Tensor<T>::empty({shape.batch, shape.heads, length, dim}, device) : Tensor<T>();
        };
        Tensor<T> grad_q = gradient_of(grad_query, shape.query_length, shape.head_dim);
        Tensor<T> grad_k = gradient_of(grad_key, shape.key_length, shape.head_dim);
        Tensor<T> grad_v = gradient_of(grad_value, shape.key_length, shape.value_dim);
        auto pointer = [](const Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
        backend::cuda::attention_backward(operand(q), operand(k), operand(v), mask_operand, shape, double(factor),
                                          output.data(), grad_out.data(), log_normalisers.data(), delta.data(),
                                          pointer(grad_q), pointer(grad_k), pointer(grad_v));
        return std::vector<Tensor<T>>{grad_q, grad_k, grad_v};
    });
    return out;
}

} // namespace detail

// CLIP's causal attention mask: 0 on and below the diagonal, -inf above (a token sees no later one).
template <Floating T> Tensor<T> causal_mask(std::int64_t length) {
    if (length < 0) fail("causal_mask: length ", length, " is negative");
    Tensor<T> mask = Tensor<T>::zeros({length, length});
    for (std::int64_t i = 0; i < length; ++i)
        std::fill(mask.data() + i * length + i + 1, mask.data() + (i + 1) * length,
                  -std::numeric_limits<T>::infinity());
    return mask;
}

// softmax(scale * query key^T + mask) value, per batch and head. query [B, H, Lq, D], key [B, H, Lk, D],
// value [B, H, Lk, Dv], any strides; mask (optional, never differentiated) adds to the scores and
// broadcasts to [B, H, Lq, Lk]; scale 0 means 1/sqrt(D). Returns a contiguous [B, H, Lq, Dv].
template <Floating T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                       const Tensor<T>& mask = {}, double scale = 0) {
    constexpr const char* op = "scaled_dot_product_attention";
    Device device = common_device(op, query, key, value);
    if (mask.defined()) common_device(op, query, mask);
    check_rank(op, query, 4, "query");
    check_rank(op, key, 4, "key");
    check_rank(op, value, 4, "value");
    const Shape& qs = query.shape();
    const Shape& ks = key.shape();
    const Shape& vs = value.shape();
    if (ks[0] != qs[0] || vs[0] != qs[0] || ks[1] != qs[1] || vs[1] != qs[1] || ks[3] != qs[3] || vs[2] != ks[2])
        fail(op, ": query ", qs, ", key ", ks, " and value ", vs,
             " do not fit: expected query [B, H, Lq, D], "
             "key [B, H, Lk, D] and value [B, H, Lk, Dv]");
    if (qs[3] == 0 && scale == 0) fail(op, ": head dimension 0 (query ", qs, ") has no default scale 1/sqrt(0)");
    detail::AttentionShape shape{qs[0], qs[1], qs[2], ks[2], qs[3], vs[3]};
    Shape scores_shape{shape.batch, shape.heads, shape.query_length, shape.key_length};
    Shape mask_strides(4, 0);
    if (mask.defined()) {
        bool fits = mask.dim() <= 4;
        for (std::int64_t axis = 0; fits && axis < mask.dim(); ++axis) {
            std::int64_t extent = mask.shape()[axis], target = scores_shape[4 - mask.dim() + axis];
            fits = extent == target || extent == 1;
            if (extent != 1) mask_strides[4 - mask.dim() + axis] = mask.strides()[axis];
        }
        if (!fits)
            fail(op, ": mask of shape ", mask.shape(), " does not broadcast to the scores' shape ", scores_shape,
                 " ([B, H, Lq, Lk] for query ", qs, " and key ", ks,
                 "); give it shape [Lq, Lk] or [B, 1 or H, Lq, Lk]");
    }
    T factor = T(scale == 0 ? 1 / std::sqrt(double(shape.head_dim)) : scale);
    if (device.is_cuda()) return detail::attention_on_device(query, key, value, mask, mask_strides, shape, factor);

    bool grad_query = needs_grad(query), grad_key = needs_grad(key), grad_value = needs_grad(value);
    bool saving = grad_query || grad_key || grad_value;
    Tensor<T> q = query.detach(), k = key.detach(), v = value.detach();
    Tensor<T> out = Tensor<T>::empty({shape.batch, shape.heads, shape.query_length, shape.value_dim}, query.device());
    // The probabilities are kept for backward; without it each thread reuses one head's worth.
    Tensor<T> probabilities = saving ? Tensor<T>::empty(scores_shape, query.device()) : Tensor<T>();
    std::int64_t head_scores = shape.query_length * shape.key_length;
    const T* mask_data = mask.defined() ? mask.data() : nullptr;
    detail::for_each_head<T>(
        shape, saving ? 0 : head_scores,
        [&](std::int64_t head, std::int64_t b, std::int64_t h, detail::HeadProduct<T>& product, T* scratch) {
            T* p = saving ? probabilities.data() + head * head_scores : scratch;
            product(shape.query_length, shape.key_length, shape.head_dim, factor, detail::head_matrix(q, b, h),
                    detail::head_matrix(k, b, h).transposed(), p, shape.key_length);
            for (std::int64_t i = 0; i < shape.query_length; ++i) {
                T* row = p + i * shape.key_length;
                const T* mask_row =
                    mask_data ? mask_data + b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2] : nullptr;
                backend::cpu::masked_softmax_row(row, mask_row, mask_strides[3], shape.key_length);
            }
            product(shape.query_length, shape.value_dim, shape.key_length, T(1), {p, shape.key_length, 1},
                    detail::head_matrix(v, b, h), out.data() + head * shape.query_length * shape.value_dim,
                    shape.value_dim);
        });
    if (!saving) return out;

    record(
        op, out, {query, key, value},
        [shape, factor, grad_query, grad_key, grad_value, probabilities, q = grad_key ? q : Tensor<T>(),
         k = grad_query ? k : Tensor<T>(), v = grad_query || grad_key ? v : Tensor<T>()](const Tensor<T>& grad) {
            Tensor<T> grad_out = dense(grad);
            auto gradient_of = [&](bool wanted, std::int64_t length, std::int64_t dim) {
                return wanted ? Tensor<T>::empty({shape.batch, shape.heads, length, dim}, grad.device()) : Tensor<T>();
            };
            Tensor<T> grad_q = gradient_of(grad_query, shape.query_length, shape.head_dim);
            Tensor<T> grad_k = gradient_of(grad_key, shape.key_length, shape.head_dim);
            Tensor<T> grad_v = gradient_of(grad_value, shape.key_length, shape.value_dim);
            std::int64_t lq = shape.query_length, lk = shape.key_length, d = shape.head_dim, dv = shape.value_dim;
            bool through_scores = grad_query || grad_key;
            detail::for_each_head<T>(
                shape, through_scores ? lq * lk : 0,
                [&](std::int64_t head, std::int64_t b, std::int64_t h, detail::HeadProduct<T>& product, T* ds) {
                    detail::StridedMatrix<T> p{probabilities.data() + head * lq * lk, lk, 1};
                    detail::StridedMatrix<T> dout{grad_out.data() + head * lq * dv, dv, 1};
                    if (grad_value) product(lk, dv, lq, T(1), p.transposed(), dout, grad_v.data() + head * lk * dv, dv);
                    if (!through_scores) return;
                    product(lq, lk, dv, T(1), dout, detail::head_matrix(v, b, h).transposed(), ds, lk);
                    for (std::int64_t i = 0; i < lq; ++i)
                        backend::cpu::softmax_backward_row(ds + i * lk, p.data + i * lk, lk, ds + i * lk);
                    if (grad_query)
                        product(lq, d, lk, factor, {ds, lk, 1}, detail::head_matrix(k, b, h),
                                grad_q.data() + head * lq * d, d);
                    if (grad_key)
                        product(lk, d, lq, factor, {ds, 1, lk}, detail::head_matrix(q, b, h),
                                grad_k.data() + head * lk * d, d);
                });
            return std::vector<Tensor<T>>{grad_q, grad_k, grad_v};
        });
    return out;
}

} // namespace clipft::ops
