#pragma once
// Scaled dot-product attention, fused: per (batch, head) one product S = scale * Q K^T, the additive
// mask and the softmax applied in place on S's rows, then O = P V. Backward reuses the saved
// probabilities P. Query, key and value may be any strided views (CLIP takes them from one fused
// qkv projection): the kernels read them through their strides, never as contiguous copies.
#include <clipft/backends.hpp>
#include <clipft/backend/attention_shape.hpp>
#include <clipft/backend/cpu/rows.hpp>
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/ops/checks.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#ifdef CLIPFT_WITH_CUDA
#include <clipft/backend/cuda/attention.cuh>
#endif

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

using backend::cpu::Batch;

// A matrix read through strides: element (r, c) is data[r * row_stride + c * column_stride], so a
// transposed operand is the same memory with the strides swapped.
template <typename T>
struct StridedMatrix {
    const T* data;
    std::int64_t row_stride, column_stride;
    T operator()(std::int64_t r, std::int64_t c) const { return data[r * row_stride + c * column_stride]; }
    StridedMatrix transposed() const { return {data, column_stride, row_stride}; }
};

// C[m x n] = alpha * A[m x k] B[k x n] for the small products of one attention head, in the style of
// BLIS: a register-blocked kernel computes each tile of up to 12 rows by one SIMD batch of columns
// over all of k, broadcasting A's elements against rows of B. Operands are read in place where their
// layout allows (B with unit-stride rows, A with unit-stride columns); otherwise, and for the ragged
// last tiles, they are first packed into panels. One instance per thread owns the buffers.
template <typename T>
class HeadProduct {
public:
    void operator()(std::int64_t m, std::int64_t n, std::int64_t k, T alpha, StridedMatrix<T> a, StridedMatrix<T> b,
                    T* c, std::int64_t ldc) {
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
            if (rows > 8) row_panel<12>(i, rows, k, alpha, a, c, ldc, n);
            else if (rows > 4) row_panel<8>(i, rows, k, alpha, a, c, ldc, n);
            else row_panel<4>(i, rows, k, alpha, a, c, ldc, n);
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
    static void pack_rows(const T* const* row, std::int64_t step, std::int64_t k, T* packed, std::index_sequence<R...>) {
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

    std::vector<T> packed_a_, packed_b_;
    std::vector<Panel> panels_b_;
};

// Softmax of one row of scores in place, after adding the mask row (read with stride mask_step).
// A row with every score -inf (fully masked) becomes zeros rather than NaN.
template <typename T>
void softmax_row(T* row, std::int64_t n, const T* mask, std::int64_t mask_step) {
    if (mask)
        for (std::int64_t j = 0; j < n; ++j) row[j] += mask[j * mask_step];
    T top = backend::cpu::row_max(row, n);
    if (top == -std::numeric_limits<T>::infinity()) {
        std::fill(row, row + n, T(0));
        return;
    }
    T inverse = T(1) / backend::cpu::row_exp_sum(row, n, top, row);
    backend::cpu::map_row(row, n, [inverse](auto v) { return v * decltype(v)(inverse); }, row);
}

// The softmax backward in place on one row: gradient[j] = p[j] * (gradient[j] - sum_i gradient[i] p[i]).
template <typename T>
void softmax_backward_row(T* gradient, const T* probabilities, std::int64_t n) {
    T dot = backend::cpu::row_dot(gradient, probabilities, n);
    backend::cpu::map_row(gradient, n, [dot](auto g, auto p) { return p * (g - decltype(g)(dot)); }, gradient, probabilities);
}

using backend::AttentionShape;

// Head (b, h) of a [B, H, rows, columns] tensor, read in place through its strides.
template <typename T>
StridedMatrix<T> head_matrix(const Tensor<T>& x, std::int64_t b, std::int64_t h) {
    const Shape& s = x.strides();
    return {x.data() + b * s[0] + h * s[1], s[2], s[3]};
}

// Runs body(head, b, h, product, scratch) for every head (head = b * H + h), spread over the pool;
// each thread owns one HeadProduct and scratch_size elements of scratch.
// Heads run in parallel, each in our single-threaded kernels: faster than per-head threaded OpenBLAS (L=77: 2.8 vs 3.7 ms).
template <typename T, typename Body>
void for_each_head(const AttentionShape& shape, std::int64_t scratch_size, Body&& body) {
    backend::parallel_for(shape.batch * shape.heads, 1, [&](std::int64_t begin, std::int64_t end) {
        HeadProduct<T> product;
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
#ifdef CLIPFT_WITH_CUDA
    using backend::cuda::AttentionOperand;
    auto operand = [](const Tensor<T>& x) {
        return AttentionOperand<T>{x.data(), {x.strides()[0], x.strides()[1], x.strides()[2], x.strides()[3]}};
    };
    Device device = query.device();
    Tensor<T> q = query.detach(), k = key.detach(), v = value.detach(), mask_values = mask.defined() ? mask.detach() : Tensor<T>();
    AttentionOperand<T> mask_operand{mask_values.defined() ? mask_values.data() : nullptr,
                                     {mask_strides[0], mask_strides[1], mask_strides[2], mask_strides[3]}};
    Tensor<T> out = Tensor<T>::empty({shape.batch, shape.heads, shape.query_length, shape.value_dim}, device);
    Tensor<T> log_normalisers = Tensor<T>::empty({shape.batch, shape.heads, shape.query_length}, device);
    backend::cuda::attention_forward(operand(q), operand(k), operand(v), mask_operand, shape, double(factor), out.data(),
                                     log_normalisers.data());
    bool grad_query = needs_grad(query), grad_key = needs_grad(key), grad_value = needs_grad(value);
    if (!grad_query && !grad_key && !grad_value) return out;
    record("scaled_dot_product_attention", out, {query, key, value},
           [=, output = out.detach()](const Tensor<T>& grad) {
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
#else
    fail("scaled_dot_product_attention: tensors on ", query.device(), " in a CPU-only translation unit");
#endif
}

} // namespace detail

// CLIP's causal attention mask: 0 on and below the diagonal, -inf above (a token sees no later one).
template <Floating T>
Tensor<T> causal_mask(std::int64_t length) {
    if (length < 0) fail("causal_mask: length ", length, " is negative");
    Tensor<T> mask = Tensor<T>::zeros({length, length});
    for (std::int64_t i = 0; i < length; ++i)
        std::fill(mask.data() + i * length + i + 1, mask.data() + (i + 1) * length, -std::numeric_limits<T>::infinity());
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
        fail(op, ": query ", qs, ", key ", ks, " and value ", vs, " do not fit: expected query [B, H, Lq, D], "
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
                 " ([B, H, Lq, Lk] for query ", qs, " and key ", ks, "); give it shape [Lq, Lk] or [B, 1 or H, Lq, Lk]");
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
    detail::for_each_head<T>(shape, saving ? 0 : head_scores, [&](std::int64_t head, std::int64_t b, std::int64_t h,
                                                                   detail::HeadProduct<T>& product, T* scratch) {
        T* p = saving ? probabilities.data() + head * head_scores : scratch;
        product(shape.query_length, shape.key_length, shape.head_dim, factor, detail::head_matrix(q, b, h),
                detail::head_matrix(k, b, h).transposed(), p, shape.key_length);
        for (std::int64_t i = 0; i < shape.query_length; ++i) {
            const T* mask_row = mask_data ? mask_data + b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2] : nullptr;
            detail::softmax_row(p + i * shape.key_length, shape.key_length, mask_row, mask_strides[3]);
        }
        product(shape.query_length, shape.value_dim, shape.key_length, T(1), {p, shape.key_length, 1},
                detail::head_matrix(v, b, h), out.data() + head * shape.query_length * shape.value_dim, shape.value_dim);
    });
    if (!saving) return out;

    record(op, out, {query, key, value},
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
               detail::for_each_head<T>(shape, through_scores ? lq * lk : 0, [&](std::int64_t head, std::int64_t b, std::int64_t h,
                                                                               detail::HeadProduct<T>& product, T* ds) {
                   detail::StridedMatrix<T> p{probabilities.data() + head * lq * lk, lk, 1};
                   detail::StridedMatrix<T> dout{grad_out.data() + head * lq * dv, dv, 1};
                   if (grad_value) product(lk, dv, lq, T(1), p.transposed(), dout, grad_v.data() + head * lk * dv, dv);
                   if (!through_scores) return;
                   product(lq, lk, dv, T(1), dout, detail::head_matrix(v, b, h).transposed(), ds, lk);
                   for (std::int64_t i = 0; i < lq; ++i) detail::softmax_backward_row(ds + i * lk, p.data + i * lk, lk);
                   if (grad_query)
                       product(lq, d, lk, factor, {ds, lk, 1}, detail::head_matrix(k, b, h), grad_q.data() + head * lq * d, d);
                   if (grad_key)
                       product(lk, d, lq, factor, {ds, 1, lk}, detail::head_matrix(q, b, h), grad_k.data() + head * lk * d, d);
               });
               return std::vector<Tensor<T>>{grad_q, grad_k, grad_v};
           });
    return out;
}

} // namespace clipft::ops
