#pragma once
// What every kernel of the CUDA backend shares: launch sizes, the device types behind clipft's
// 16-bit storage types, and loads/stores that compute in the accumulation type (float for the
// 16-bit types and float, double for double).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/stream.hpp>
#include <clipft/scalar_types.hpp>
#include <clipft/shape.hpp>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// clipft::Half and clipft::BFloat16 hold the same bits as CUDA's types, so pointers convert.
template <typename T> struct DeviceTypeOf { using type = T; };
template <> struct DeviceTypeOf<Half> { using type = __half; };
template <> struct DeviceTypeOf<BFloat16> { using type = __nv_bfloat16; };
template <typename T> using DeviceType = typename DeviceTypeOf<T>::type;

static_assert(sizeof(Half) == sizeof(__half) && sizeof(BFloat16) == sizeof(__nv_bfloat16));

template <typename T> DeviceType<T>* device_pointer(T* pointer) { return reinterpret_cast<DeviceType<T>*>(pointer); }
template <typename T> const DeviceType<T>* device_pointer(const T* pointer) {
    return reinterpret_cast<const DeviceType<T>*>(pointer);
}

template <typename T> using Accumulator = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename To, typename From> __host__ __device__ inline To convert(From value) {
    if constexpr (std::is_same_v<To, From>)
        return value;
    else if constexpr (std::is_same_v<From, __half>)
        return To(__half2float(value));
    else if constexpr (std::is_same_v<From, __nv_bfloat16>)
        return To(__bfloat162float(value));
    else if constexpr (std::is_same_v<To, __half>)
        return __float2half_rn(float(value));
    else if constexpr (std::is_same_v<To, __nv_bfloat16>)
        return __float2bfloat16_rn(float(value));
    else
        return To(value);
}

constexpr int threads_per_block = 256;

inline unsigned blocks_for(std::int64_t count, int threads = threads_per_block) {
    // Grid-stride loops cover the rest: more blocks than this only add scheduling overhead.
    constexpr std::int64_t most_blocks = 65535;
    return unsigned(std::clamp<std::int64_t>((count + threads - 1) / threads, 1, most_blocks));
}

// Offsets of one element in up to `operands` strided tensors of one shape (rank at most 8), so
// kernels can read views (transposes, broadcasts with stride 0) without copying them first.
template <int operands> struct StridedOffsets {
    static constexpr int most_axes = 8;
    int rank = 0;
    std::int64_t shape[most_axes] = {};
    std::int64_t strides[operands][most_axes] = {};

    StridedOffsets(const Shape& extents, const Shape* const (&operand_strides)[operands]) {
        if (extents.size() > std::size_t(most_axes))
            fail("CUDA kernels take tensors of at most ", most_axes, " axes, got shape ", extents);
        rank = int(extents.size());
        for (int axis = 0; axis < rank; ++axis) {
            shape[axis] = extents[axis];
            for (int k = 0; k < operands; ++k) strides[k][axis] = (*operand_strides[k])[axis];
        }
    }

    __device__ void at(std::int64_t index, std::int64_t (&offsets)[operands]) const {
        for (int k = 0; k < operands; ++k) offsets[k] = 0;
        for (int axis = rank - 1; axis >= 0; --axis) {
            std::int64_t position = index % shape[axis];
            index /= shape[axis];
            for (int k = 0; k < operands; ++k) offsets[k] += position * strides[k][axis];
        }
    }
};

#define CLIPFT_GRID_STRIDE_LOOP(index, count)                                                                          \
    for (std::int64_t index = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; index < (count);                    \
         index += std::int64_t(blockDim.x) * gridDim.x)

} // namespace clipft::backend::cuda
