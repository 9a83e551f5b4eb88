#pragma once
// Fused scaled dot-product attention, flash-attention style: keys and values stream through shared
// memory in tiles while each thread keeps one query row's running maximum, normaliser and output
// (the online softmax), so the [Lq, Lk] score matrix is never stored. The forward saves only the
// log-normaliser of each row; the backward recomputes the probabilities tile by tile from it, in
// one pass over the keys for dQ and one pass over the queries for dK and dV.
//
// Operands are [B, H, L, D] read through their strides (CLIP takes q, k, v from one fused qkv
// projection without copies); the additive mask is read through broadcast strides (0 along
// broadcast axes). Sums are in float (double for double).
#include <clipft/backends.hpp>
#include <clipft/backend/attention_shape.hpp>
#include <clipft/backend/cuda/launch.cuh>
#include <clipft/backend/cuda/operands.hpp>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// The same operand with CUDA's element type (half and bfloat16 to __half and __nv_bfloat16).
template <typename T> AttentionOperand<DeviceType<T>> device_operand(const AttentionOperand<T>& operand) {
    return {device_pointer(operand.data),
            {operand.strides[0], operand.strides[1], operand.strides[2], operand.strides[3]}};
}

using backend::AttentionShape;

namespace attention_detail {

constexpr int rows_per_block = 64; // one query (or key) row per thread
constexpr int tile = 32;           // keys (or queries) per shared-memory tile

template <typename T>
__device__ float mask_at(const AttentionOperand<T>& mask, std::int64_t b, std::int64_t h, std::int64_t i,
                         std::int64_t j) {
    return mask.data ? float(convert<Accumulator<T>>(mask.row(b, h, i)[j * mask.strides[3]])) : 0.0f;
}

// Loads rows first..first+tile of `operand` into `target` [tile][Dim] as A (zeros past the end).
template <typename A, int Dim, typename T>
__device__ void load_tile(A (*target)[Dim], const AttentionOperand<T>& operand, std::int64_t b, std::int64_t h,
                          std::int64_t first, std::int64_t length, std::int64_t width) {
    for (int index = threadIdx.x; index < tile * Dim; index += blockDim.x) {
        int r = index / Dim, c = index % Dim;
        std::int64_t position = first + r;
        target[r][c] =
            position < length && c < width ? convert<A>(operand.row(b, h, position)[c * operand.strides[3]]) : A(0);
    }
}

template <typename T, int Dim>
__global__ void forward_kernel(AttentionOperand<T> query, AttentionOperand<T> key, AttentionOperand<T> value,
                               AttentionOperand<T> mask, AttentionShape shape, double scale, T* out,
                               Accumulator<T>* log_normalisers) {
    using A = Accumulator<T>;
    __shared__ A keys[tile][Dim], values[tile][Dim];
    std::int64_t b = blockIdx.y / shape.heads, h = blockIdx.y % shape.heads;
    std::int64_t i = std::int64_t(blockIdx.x) * rows_per_block + threadIdx.x;
    bool active = i < shape.query_length;
    A q[Dim], accumulated[Dim];
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
        q[c] = active && c < shape.head_dim ? convert<A>(query.row(b, h, i)[c * query.strides[3]]) * A(scale) : A(0);
        accumulated[c] = 0;
    }
    A running_max = -INFINITY, normaliser = 0;
    for (std::int64_t first = 0; first < shape.key_length; first += tile) {
        load_tile<A, Dim>(keys, key, b, h, first, shape.key_length, shape.head_dim);
        load_tile<A, Dim>(values, value, b, h, first, shape.key_length, shape.value_dim);
        __syncthreads();
        if (active) {
            A scores[tile], tile_max = -INFINITY;
#pragma unroll
            for (int r = 0; r < tile; ++r) {
                A s = -INFINITY;
                if (first + r < shape.key_length) {
                    s = 0;
#pragma unroll
                    for (int c = 0; c < Dim; ++c) s += q[c] * keys[r][c];
                    s += mask_at(mask, b, h, i, first + r);
                }
                scores[r] = s;
                tile_max = ::max(tile_max, s);
            }
            A new_max = ::max(running_max, tile_max);
            if (new_max != A(-INFINITY)) { // otherwise every score so far is masked out
                A correction = ::exp(running_max - new_max);
                normaliser *= correction;
#pragma unroll
                for (int c = 0; c < Dim; ++c) accumulated[c] *= correction;
#pragma unroll
                for (int r = 0; r < tile; ++r) {
                    A p = ::exp(scores[r] - new_max);
                    normaliser += p;
#pragma unroll
                    for (int c = 0; c < Dim; ++c) accumulated[c] += p * values[r][c];
                }
                running_max = new_max;
            }
        }
        __syncthreads();
    }
    if (!active) return;
    std::int64_t row = (b * shape.heads + h) * shape.query_length + i;
    // A fully masked row (normaliser 0) gives zeros, as on the CPU (backend/cpu/softmax.hpp); its
    // log-normaliser +inf makes every recomputed probability exp(s - inf) = 0 in backward.
    bool masked = normaliser == A(0);
#pragma unroll
    for (int c = 0; c < Dim; ++c)
        if (c < shape.value_dim)
            out[row * shape.value_dim + c] = convert<T>(masked ? A(0) : accumulated[c] / normaliser);
    log_normalisers[row] = masked ? A(INFINITY) : running_max + ::log(normaliser);
}

// delta[row] = sum over features of grad_out * out: the softmax backward's per-row dot product.
template <typename T>
__global__ void row_dot_kernel(const T* grad_out, const T* out, std::int64_t rows, std::int64_t width,
                               Accumulator<T>* delta) {
    using A = Accumulator<T>;
    CLIPFT_GRID_STRIDE_LOOP(row, rows) {
        A total = 0;
        for (std::int64_t c = 0; c < width; ++c)
            total += convert<A>(grad_out[row * width + c]) * convert<A>(out[row * width + c]);
        delta[row] = total;
    }
}

// dQ: per query row, over key tiles; ds = p * (dO . v - delta), dq = scale * sum ds * k.
template <typename T, int Dim>
__global__ void query_gradient_kernel(AttentionOperand<T> query, AttentionOperand<T> key, AttentionOperand<T> value,
                                      AttentionOperand<T> mask, AttentionShape shape, double scale, const T* grad_out,
                                      const Accumulator<T>* log_normalisers, const Accumulator<T>* delta,
                                      T* grad_query) {
    using A = Accumulator<T>;
    __shared__ A keys[tile][Dim], values[tile][Dim];
    std::int64_t b = blockIdx.y / shape.heads, h = blockIdx.y % shape.heads;
    std::int64_t i = std::int64_t(blockIdx.x) * rows_per_block + threadIdx.x;
    bool active = i < shape.query_length;
    std::int64_t row = (b * shape.heads + h) * shape.query_length + i;
    A q[Dim], grad_o[Dim], grad_q[Dim];
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
        q[c] = active && c < shape.head_dim ? convert<A>(query.row(b, h, i)[c * query.strides[3]]) * A(scale) : A(0);
        grad_o[c] = active && c < shape.value_dim ? convert<A>(grad_out[row * shape.value_dim + c]) : A(0);
        grad_q[c] = 0;
    }
    A log_normaliser = active ? log_normalisers[row] : A(0), row_delta = active ? delta[row] : A(0);
    for (std::int64_t first = 0; first < shape.key_length; first += tile) {
        load_tile<A, Dim>(keys, key, b, h, first, shape.key_length, shape.head_dim);
        load_tile<A, Dim>(values, value, b, h, first, shape.key_length, shape.value_dim);
        __syncthreads();
        if (active)
            for (int r = 0; r < tile && first + r < shape.key_length; ++r) {
                A s = mask_at(mask, b, h, i, first + r), grad_p = 0;
#pragma unroll
                for (int c = 0; c < Dim; ++c) s += q[c] * keys[r][c], grad_p += grad_o[c] * values[r][c];
                A grad_s = ::exp(s - log_normaliser) * (grad_p - row_delta);
#pragma unroll
                for (int c = 0; c < Dim; ++c) grad_q[c] += grad_s * keys[r][c];
            }
        __syncthreads();
    }
    if (!active) return;
#pragma unroll
    for (int c = 0; c < Dim; ++c)
        if (c < shape.head_dim) grad_query[row * shape.head_dim + c] = convert<T>(grad_q[c] * A(scale));
}

// dK and dV: per key row, over query tiles; dv = sum p * dO, dk = scale * sum ds * q.
template <typename T, int Dim>
__global__ void key_value_gradient_kernel(AttentionOperand<T> query, AttentionOperand<T> key, AttentionOperand<T> value,
                                          AttentionOperand<T> mask, AttentionShape shape, double scale,
                                          const T* grad_out, const Accumulator<T>* log_normalisers,
                                          const Accumulator<T>* delta, T* grad_key, T* grad_value) {
    using A = Accumulator<T>;
    __shared__ A queries[tile][Dim], grad_outs[tile][Dim];
    __shared__ A tile_log_normalisers[tile], tile_delta[tile];
    std::int64_t b = blockIdx.y / shape.heads, h = blockIdx.y % shape.heads;
    std::int64_t j = std::int64_t(blockIdx.x) * rows_per_block + threadIdx.x;
    bool active = j < shape.key_length;
    A k[Dim], v[Dim], grad_k[Dim], grad_v[Dim];
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
        k[c] = active && c < shape.head_dim ? convert<A>(key.row(b, h, j)[c * key.strides[3]]) : A(0);
        v[c] = active && c < shape.value_dim ? convert<A>(value.row(b, h, j)[c * value.strides[3]]) : A(0);
        grad_k[c] = grad_v[c] = 0;
    }
    std::int64_t head_rows = (b * shape.heads + h) * shape.query_length;
    AttentionOperand<T> grad_out_rows{
        grad_out,
        {shape.heads * shape.query_length * shape.value_dim, shape.query_length * shape.value_dim, shape.value_dim, 1}};
    for (std::int64_t first = 0; first < shape.query_length; first += tile) {
        load_tile<A, Dim>(queries, query, b, h, first, shape.query_length, shape.head_dim);
        load_tile<A, Dim>(grad_outs, grad_out_rows, b, h, first, shape.query_length, shape.value_dim);
        for (int r = threadIdx.x; r < tile; r += blockDim.x) {
            bool inside = first + r < shape.query_length;
            tile_log_normalisers[r] = inside ? log_normalisers[head_rows + first + r] : A(0);
            tile_delta[r] = inside ? delta[head_rows + first + r] : A(0);
        }
        __syncthreads();
        if (active)
            for (int r = 0; r < tile && first + r < shape.query_length; ++r) {
                A s = 0, grad_p = 0;
#pragma unroll
                for (int c = 0; c < Dim; ++c) s += queries[r][c] * k[c], grad_p += grad_outs[r][c] * v[c];
                A p = ::exp(s * A(scale) + mask_at(mask, b, h, first + r, j) - tile_log_normalisers[r]);
                A grad_s = p * (grad_p - tile_delta[r]);
#pragma unroll
                for (int c = 0; c < Dim; ++c) grad_v[c] += p * grad_outs[r][c], grad_k[c] += grad_s * queries[r][c];
            }
        __syncthreads();
    }
    if (!active) return;
    std::int64_t row = (b * shape.heads + h) * shape.key_length + j;
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
        if (grad_key && c < shape.head_dim) grad_key[row * shape.head_dim + c] = convert<T>(grad_k[c] * A(scale));
        if (grad_value && c < shape.value_dim) grad_value[row * shape.value_dim + c] = convert<T>(grad_v[c]);
    }
}

// Calls launch(std::integral_constant<int, Dim>) with the smallest register width that holds the
// head and value dimensions.
template <typename Launch> void with_head_width(const AttentionShape& shape, Launch launch) {
    std::int64_t width = std::max(shape.head_dim, shape.value_dim);
    if (width <= 32)
        launch(std::integral_constant<int, 32>{});
    else if (width <= 64)
        launch(std::integral_constant<int, 64>{});
    else if (width <= 128)
        launch(std::integral_constant<int, 128>{});
    else
        fail("scaled_dot_product_attention on CUDA: head dimension ", width,
             " is above 128, the largest the fused kernel holds");
}

inline dim3 grid_over(std::int64_t rows, const AttentionShape& shape) {
    return dim3(unsigned((rows + rows_per_block - 1) / rows_per_block), unsigned(shape.batch * shape.heads));
}

} // namespace attention_detail

// out [B, H, Lq, Dv] (contiguous) and each query row's log-normaliser [B, H, Lq]; mask.data may be null.
template <typename T>
void attention_forward(AttentionOperand<T> query, AttentionOperand<T> key, AttentionOperand<T> value,
                       AttentionOperand<T> mask, AttentionShape shape, double scale, T* out,
                       Accumulator<T>* log_normalisers) {
    using namespace attention_detail;
    if (shape.batch * shape.heads * shape.query_length == 0) return;
    with_head_width(shape, [&](auto width) {
        forward_kernel<DeviceType<T>, decltype(width)::value>
            <<<grid_over(shape.query_length, shape), rows_per_block, 0, current_stream()>>>(
                device_operand(query), device_operand(key), device_operand(value), device_operand(mask), shape, scale,
                device_pointer(out), log_normalisers);
        check_launch("attention forward_kernel");
    });
}

// The gradients (contiguous [B, H, L, D]; any may be null when not wanted) from the saved output
// and log-normalisers; `delta` is scratch for [B, H, Lq] values.
template <typename T>
void attention_backward(AttentionOperand<T> query, AttentionOperand<T> key, AttentionOperand<T> value,
                        AttentionOperand<T> mask, AttentionShape shape, double scale, const T* out, const T* grad_out,
                        const Accumulator<T>* log_normalisers, Accumulator<T>* delta, T* grad_query, T* grad_key,
                        T* grad_value) {
    using namespace attention_detail;
    using D = DeviceType<T>;
    if (shape.batch * shape.heads == 0) return;
    std::int64_t rows = shape.batch * shape.heads * shape.query_length;
    if (rows > 0) {
        row_dot_kernel<<<blocks_for(rows), threads_per_block, 0, current_stream()>>>(
            device_pointer(grad_out), device_pointer(out), rows, shape.value_dim, delta);
        check_launch("attention row_dot_kernel");
    }
    AttentionOperand<D> q = device_operand(query), k = device_operand(key), v = device_operand(value),
                        m = device_operand(mask);
    with_head_width(shape, [&](auto width) {
        constexpr int Dim = decltype(width)::value;
        if (grad_query && shape.query_length > 0) {
            query_gradient_kernel<D, Dim>
                <<<grid_over(shape.query_length, shape), rows_per_block, 0, current_stream()>>>(
                    q, k, v, m, shape, scale, device_pointer(grad_out), log_normalisers, delta,
                    device_pointer(grad_query));
            check_launch("attention query_gradient_kernel");
        }
        if ((grad_key || grad_value) && shape.key_length > 0) {
            key_value_gradient_kernel<D, Dim>
                <<<grid_over(shape.key_length, shape), rows_per_block, 0, current_stream()>>>(
                    q, k, v, m, shape, scale, device_pointer(grad_out), log_normalisers, delta,
                    device_pointer(grad_key), device_pointer(grad_value));
            check_launch("attention key_value_gradient_kernel");
        }
    });
}

} // namespace clipft::backend::cuda
