#pragma once
// softmax and log_softmax over the rows of a contiguous matrix, forward and backward: one block per
// row, the row's maximum subtracted before exponentiating, sums in float (or double).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/reduce.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename T, bool logarithm>
__global__ void softmax_kernel(const T* x, std::int64_t rows, std::int64_t extent, T* y) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) {
        const T* in = x + row * extent;
        T* out = y + row * extent;
        A largest = -INFINITY;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) largest = ::max(largest, convert<A>(in[i]));
        largest = block_max(largest, scratch);
        A total = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) total += ::exp(convert<A>(in[i]) - largest);
        total = block_sum(total, scratch);
        A shift = largest + ::log(total), scale = A(1) / total;
        // A fully masked row (all -inf) gives zeros (log_softmax: -inf), as on the CPU
        // (backend/cpu/softmax.hpp), not NaN.
        bool masked = largest == A(-INFINITY);
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) {
            A v = convert<A>(in[i]);
            out[i] = convert<T>(masked      ? (logarithm ? A(-INFINITY) : A(0))
                                : logarithm ? v - shift
                                            : ::exp(v - largest) * scale);
        }
    }
}

// softmax: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g).
template <typename T, bool logarithm>
__global__ void softmax_backward_kernel(const T* grad, const T* y, std::int64_t rows, std::int64_t extent, T* dx) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) {
        const T* g = grad + row * extent;
        const T* out = y + row * extent;
        A total = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent)
        total += logarithm ? convert<A>(g[i]) : convert<A>(g[i]) * convert<A>(out[i]);
        total = block_sum(total, scratch);
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) {
            A gv = convert<A>(g[i]), yv = convert<A>(out[i]);
            dx[row * extent + i] = convert<T>(logarithm ? gv - ::exp(yv) * total : yv * (gv - total));
        }
    }
}

template <typename T> void softmax_rows(const T* x, std::int64_t rows, std::int64_t extent, T* y, bool logarithm) {
    if (rows == 0 || extent == 0) return;
    auto kernel = logarithm ? softmax_kernel<DeviceType<T>, true> : softmax_kernel<DeviceType<T>, false>;
    kernel<<<blocks_for(rows, 1), threads_per_block, 0, current_stream()>>>(device_pointer(x), rows, extent,
                                                                            device_pointer(y));
    check_launch("softmax_kernel");
}

template <typename T>
void softmax_rows_backward(const T* grad, const T* y, std::int64_t rows, std::int64_t extent, T* dx, bool logarithm) {
    if (rows == 0 || extent == 0) return;
    auto kernel =
        logarithm ? softmax_backward_kernel<DeviceType<T>, true> : softmax_backward_kernel<DeviceType<T>, false>;
    kernel<<<blocks_for(rows, 1), threads_per_block, 0, current_stream()>>>(device_pointer(grad), device_pointer(y),
                                                                            rows, extent, device_pointer(dx));
    check_launch("softmax_backward_kernel");
}

} // namespace clipft::backend::cuda
