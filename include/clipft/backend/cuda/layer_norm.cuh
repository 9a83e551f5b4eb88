#pragma once
// layer_norm over the last axis: forward (one block per row: mean, biased variance by a second
// pass over the row, normalise and affine) and backward (dx one block per row; dweight and dbias
// as column sums over chunks of rows, added in a fixed order).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/reduce.cuh>

#include <utility>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t extent,
                                  double eps, T* y, T* means, T* rstds) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) {
        const T* in = x + row * extent;
        A total = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) total += convert<A>(in[i]);
        A mean = block_sum(total, scratch) / A(extent);
        A square = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) {
            A d = convert<A>(in[i]) - mean;
            square += d * d;
        }
        A rstd = A(1) / ::sqrt(block_sum(square, scratch) / A(extent) + A(eps));
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent)
        y[row * extent + i] =
            convert<T>((convert<A>(in[i]) - mean) * rstd * convert<A>(weight[i]) + convert<A>(bias[i]));
        if (threadIdx.x == 0) {
            means[row] = convert<T>(mean);
            rstds[row] = convert<T>(rstd);
        }
    }
}

// dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat))
template <typename T>
__global__ void layer_norm_input_gradient_kernel(const T* grad, const T* x, const T* weight, const T* means,
                                                 const T* rstds, std::int64_t rows, std::int64_t extent, T* dx) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) {
        const T* g = grad + row * extent;
        const T* in = x + row * extent;
        A mean = convert<A>(means[row]), rstd = convert<A>(rstds[row]);
        A sum_gw = 0, sum_gwx = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) {
            A gw = convert<A>(g[i]) * convert<A>(weight[i]);
            sum_gw += gw;
            sum_gwx += gw * (convert<A>(in[i]) - mean) * rstd;
        }
        A mean_gw = block_sum(sum_gw, scratch) / A(extent);
        A mean_gwx = block_sum(sum_gwx, scratch) / A(extent);
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) {
            A normalised = (convert<A>(in[i]) - mean) * rstd;
            dx[row * extent + i] =
                convert<T>(rstd * (convert<A>(g[i]) * convert<A>(weight[i]) - mean_gw - normalised * mean_gwx));
        }
    }
}

// Per chunk of rows: partial[chunk][column] sums g * xhat (dweight), partial[chunks + chunk][column] sums g (dbias).
template <typename T>
__global__ void layer_norm_parameter_gradient_kernel(const T* grad, const T* x, const T* means, const T* rstds,
                                                     std::int64_t rows, std::int64_t extent,
                                                     std::int64_t rows_per_chunk, Accumulator<T>* partial) {
    using A = Accumulator<T>;
    std::int64_t column = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (column >= extent) return;
    std::int64_t first = std::int64_t(blockIdx.y) * rows_per_chunk, last = ::min(rows, first + rows_per_chunk);
    A weight_total = 0, bias_total = 0;
    for (std::int64_t row = first; row < last; ++row) {
        A g = convert<A>(grad[row * extent + column]);
        weight_total += g * (convert<A>(x[row * extent + column]) - convert<A>(means[row])) * convert<A>(rstds[row]);
        bias_total += g;
    }
    partial[std::int64_t(blockIdx.y) * extent + column] = weight_total;
    partial[(std::int64_t(gridDim.y) + blockIdx.y) * extent + column] = bias_total;
}

// y, means and rstds of the contiguous [rows, extent] matrix x; weight and bias have `extent` values.
template <typename T>
void layer_norm(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t extent, double eps, T* y,
                T* means, T* rstds) {
    if (rows == 0) return;
    layer_norm_kernel<<<blocks_for(rows, 1), threads_per_block, 0, current_stream()>>>(
        device_pointer(x), device_pointer(weight), device_pointer(bias), rows, extent, eps, device_pointer(y),
        device_pointer(means), device_pointer(rstds));
    check_launch("layer_norm_kernel");
}

// Any of dx, dweight, dbias may be null: that gradient is not wanted.
template <typename T>
void layer_norm_backward(Device device, const T* grad, const T* x, const T* weight, const T* means, const T* rstds,
                         std::int64_t rows, std::int64_t extent, T* dx, T* dweight, T* dbias) {
    if (rows == 0) return;
    if (dx) {
        layer_norm_input_gradient_kernel<<<blocks_for(rows, 1), threads_per_block, 0, current_stream()>>>(
            device_pointer(grad), device_pointer(x), device_pointer(weight), device_pointer(means),
            device_pointer(rstds), rows, extent, device_pointer(dx));
        check_launch("layer_norm_input_gradient_kernel");
    }
    if (dweight || dbias) {
        using A = Accumulator<DeviceType<T>>;
        ColumnChunks chunks(rows, extent);
        std::shared_ptr<void> partial = scratch<A>(device, 2 * chunks.count * extent);
        A* sums = static_cast<A*>(partial.get());
        layer_norm_parameter_gradient_kernel<<<chunks.grid(extent), threads_per_block, 0, current_stream()>>>(
            device_pointer(grad), device_pointer(x), device_pointer(means), device_pointer(rstds), rows, extent,
            chunks.rows_per_chunk, sums);
        check_launch("layer_norm_parameter_gradient_kernel");
        for (auto [out, offset] : {std::pair{dweight, std::int64_t(0)}, std::pair{dbias, chunks.count * extent}}) {
            if (!out) continue;
            sum_chunks_kernel<<<blocks_for(extent), threads_per_block, 0, current_stream()>>>(
                static_cast<const A*>(sums + offset), chunks.count, extent, device_pointer(out));
            check_launch("sum_chunks_kernel");
        }
    }
}

} // namespace clipft::backend::cuda
