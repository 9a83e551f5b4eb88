#pragma once
// Block-wide reductions and the sum kernels built on them: a row at a time (a block per row), or
// columns (threads along the columns, blocks along chunks of rows, then the chunks' partial sums
// added in order), always accumulating in float or double and in an order fixed by the shape.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/launch.cuh>
#include <clipft/backend/cuda/memory.hpp>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename A> __device__ A warp_sum(A value) {
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}

template <typename A> __device__ A warp_max(A value) {
    for (int offset = 16; offset > 0; offset /= 2) value = ::max(value, __shfl_xor_sync(0xffffffffu, value, offset));
    return value;
}

// The sum (or maximum) over the block of every thread's value, returned to every thread. The block
// size is a multiple of 32; `scratch` holds 32 values.
template <typename A, typename Combine> __device__ A block_reduce(A value, A identity, A* scratch, Combine combine) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    value = combine(value);
    __syncthreads(); // a previous reduction may still be reading the scratch
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    return combine(lane < warps ? scratch[lane] : identity);
}

template <typename A> __device__ A block_sum(A value, A* scratch) {
    return block_reduce(value, A(0), scratch, [](A v) { return warp_sum(v); });
}

template <typename A> __device__ A block_max(A value, A* scratch) {
    return block_reduce(value, A(-INFINITY), scratch, [](A v) { return warp_max(v); });
}

// Rows are spread over blocks; a grid smaller than the row count loops.
#define CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) for (std::int64_t row = blockIdx.x; row < (rows); row += gridDim.x)
#define CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) for (std::int64_t i = threadIdx.x; i < (extent); i += blockDim.x)

template <typename T> __global__ void sum_rows_kernel(const T* x, std::int64_t rows, std::int64_t extent, T* out) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, rows) {
        A total = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, extent) total += convert<A>(x[row * extent + i]);
        total = block_sum(total, scratch);
        if (threadIdx.x == 0) out[row] = convert<T>(total);
    }
}

// Rows of the column reductions are cut into chunks, one block row of the grid each, so that a few
// hundred columns still fill the GPU; each chunk's sums are added up by sum_chunks_kernel.
struct ColumnChunks {
    std::int64_t count, rows_per_chunk;

    ColumnChunks(std::int64_t rows, std::int64_t columns) {
        constexpr std::int64_t target_blocks = 1024, most_chunks = 1024, fewest_rows = 32;
        std::int64_t column_blocks = (columns + threads_per_block - 1) / threads_per_block;
        count = std::clamp<std::int64_t>(
            std::min(target_blocks / std::max<std::int64_t>(column_blocks, 1), rows / fewest_rows), 1, most_chunks);
        rows_per_chunk = (rows + count - 1) / count;
    }
    dim3 grid(std::int64_t columns) const {
        return dim3(unsigned((columns + threads_per_block - 1) / threads_per_block), unsigned(count));
    }
};

// partial[chunk * columns + column] = sum of the chunk's rows of `column`, for x [rows, columns].
template <typename T>
__global__ void sum_column_chunks_kernel(const T* x, std::int64_t rows, std::int64_t columns,
                                         std::int64_t rows_per_chunk, Accumulator<T>* partial) {
    using A = Accumulator<T>;
    std::int64_t column = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (column >= columns) return;
    std::int64_t first = std::int64_t(blockIdx.y) * rows_per_chunk, last = ::min(rows, first + rows_per_chunk);
    A total = 0;
    for (std::int64_t row = first; row < last; ++row) total += convert<A>(x[row * columns + column]);
    partial[std::int64_t(blockIdx.y) * columns + column] = total;
}

// out[column] = sum over chunks of partial[chunk * columns + column], in chunk order.
template <typename A, typename T>
__global__ void sum_chunks_kernel(const A* partial, std::int64_t chunks, std::int64_t columns, T* out) {
    CLIPFT_GRID_STRIDE_LOOP(column, columns) {
        A total = 0;
        for (std::int64_t chunk = 0; chunk < chunks; ++chunk) total += partial[chunk * columns + column];
        out[column] = convert<T>(total);
    }
}

// Scratch for `count` values of A on `device`, held by the returned handle. Freed as soon as the
// kernels using it are queued: the caching allocator hands it out again only to later work on
// the same stream.
template <typename A> std::shared_ptr<void> scratch(Device device, std::int64_t count) {
    return allocate(std::size_t(count) * sizeof(A), device);
}

// out[r] = sum of row r of the contiguous [rows, extent] matrix x.
template <typename T> void sum_rows(const T* x, std::int64_t rows, std::int64_t extent, T* out) {
    if (rows == 0) return;
    sum_rows_kernel<<<blocks_for(rows, 1), threads_per_block, 0, current_stream()>>>(device_pointer(x), rows, extent,
                                                                                     device_pointer(out));
    check_launch("sum_rows_kernel");
}

// out[c] = sum of column c of the contiguous [rows, columns] matrix x on `device`.
template <typename T> void sum_columns(Device device, const T* x, std::int64_t rows, std::int64_t columns, T* out) {
    if (columns == 0) return;
    using A = Accumulator<DeviceType<T>>;
    ColumnChunks chunks(rows, columns);
    std::shared_ptr<void> partial = scratch<A>(device, chunks.count * columns);
    sum_column_chunks_kernel<<<chunks.grid(columns), threads_per_block, 0, current_stream()>>>(
        device_pointer(x), rows, columns, chunks.rows_per_chunk, static_cast<A*>(partial.get()));
    check_launch("sum_column_chunks_kernel");
    sum_chunks_kernel<<<blocks_for(columns), threads_per_block, 0, current_stream()>>>(
        static_cast<const A*>(partial.get()), chunks.count, columns, device_pointer(out));
    check_launch("sum_chunks_kernel");
}

} // namespace clipft::backend::cuda
