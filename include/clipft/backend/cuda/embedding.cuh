#pragma once
// Embedding rows: out[i] = weight[ids[i]] and its gradient, rows of the output gradient added into
// the rows of a zeroed weight gradient (atomically: repeated ids add up).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/launch.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename T>
__global__ void gather_rows_kernel(const T* weight, const std::int64_t* ids, std::int64_t count, std::int64_t width,
                                   T* out) {
    CLIPFT_GRID_STRIDE_LOOP(i, count * width) out[i] = weight[ids[i / width] * width + i % width];
}

template <typename T>
__global__ void scatter_add_rows_kernel(const T* grad, const std::int64_t* ids, std::int64_t count, std::int64_t width,
                                        T* weight_grad) {
    CLIPFT_GRID_STRIDE_LOOP(i, count * width) atomicAdd(weight_grad + ids[i / width] * width + i % width, grad[i]);
}

// out [count, width] = rows `ids` (validated by the caller) of weight [rows, width].
template <typename T>
void gather_rows(const T* weight, const std::int64_t* ids, std::int64_t count, std::int64_t width, T* out) {
    if (count * width == 0) return;
    gather_rows_kernel<<<blocks_for(count * width), threads_per_block, 0, current_stream()>>>(
        device_pointer(weight), ids, count, width, device_pointer(out));
    check_launch("gather_rows_kernel");
}

// weight_grad[ids[i]] += grad[i] for every row i of grad [count, width]; weight_grad starts zeroed.
template <typename T>
void scatter_add_rows(const T* grad, const std::int64_t* ids, std::int64_t count, std::int64_t width, T* weight_grad) {
    if (count * width == 0) return;
    scatter_add_rows_kernel<<<blocks_for(count * width), threads_per_block, 0, current_stream()>>>(
        device_pointer(grad), ids, count, width, device_pointer(weight_grad));
    check_launch("scatter_add_rows_kernel");
}

} // namespace clipft::backend::cuda
