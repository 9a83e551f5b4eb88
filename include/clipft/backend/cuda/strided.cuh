#pragma once
// Copies between strided views on one device (with element-type conversion) and fills: what
// Tensor's clone, contiguous, copy_, to<U>() and full need on a CUDA device.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/launch.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename To, typename From>
__global__ void strided_copy_kernel(To* destination, const From* source, StridedOffsets<2> layout, std::int64_t count) {
    CLIPFT_GRID_STRIDE_LOOP(i, count) {
        std::int64_t offsets[2];
        layout.at(i, offsets);
        destination[offsets[0]] = convert<To>(source[offsets[1]]);
    }
}

template <typename T>
__global__ void fill_kernel(T* destination, T value, StridedOffsets<1> layout, std::int64_t count) {
    CLIPFT_GRID_STRIDE_LOOP(i, count) {
        std::int64_t offset[1];
        layout.at(i, offset);
        destination[offset[0]] = value;
    }
}

// destination[index] = source[index] converted, for every index of `shape`.
template <typename To, typename From>
void strided_copy(To* destination, const Shape& destination_strides, const From* source, const Shape& source_strides,
                  const Shape& shape) {
    std::int64_t count = element_count(shape);
    if (count == 0) return;
    if constexpr (std::is_same_v<To, From>)
        if (destination_strides == source_strides && source_strides == contiguous_strides(shape)) {
            CLIPFT_CUDA_CHECK(cudaMemcpyAsync(destination, source, std::size_t(count) * sizeof(To),
                                              cudaMemcpyDeviceToDevice, current_stream()));
            return;
        }
    const Shape* strides[2] = {&destination_strides, &source_strides};
    strided_copy_kernel<<<blocks_for(count), threads_per_block, 0, current_stream()>>>(
        device_pointer(destination), device_pointer(source), StridedOffsets<2>(shape, strides), count);
    check_launch("strided_copy_kernel");
}

template <typename T> void fill(T* destination, const Shape& strides, const Shape& shape, T value) {
    std::int64_t count = element_count(shape);
    if (count == 0) return;
    const Shape* layout[1] = {&strides};
    fill_kernel<<<blocks_for(count), threads_per_block, 0, current_stream()>>>(
        device_pointer(destination), *device_pointer(&value), StridedOffsets<1>(shape, layout), count);
    check_launch("fill_kernel");
}

} // namespace clipft::backend::cuda
