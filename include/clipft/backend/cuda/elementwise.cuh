#pragma once
// Element-wise kernels: out = f(in...) over contiguous operands, and out = f(a, b) with NumPy
// broadcasting over strided operands. Values are loaded into the accumulation type (float for
// float, half and bfloat16; double for double), so one functor serves every storage type.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/launch.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename T, typename F, typename... In>
__global__ void map_contiguous_kernel(T* out, std::int64_t count, F f, const In*... in) {
    using A = Accumulator<T>;
    CLIPFT_GRID_STRIDE_LOOP(i, count) out[i] = convert<T>(f(convert<A>(in[i])...));
}

template <typename T, typename F>
__global__ void broadcast_kernel(T* out, const T* a, const T* b, StridedOffsets<3> layout, std::int64_t count, F f) {
    using A = Accumulator<T>;
    CLIPFT_GRID_STRIDE_LOOP(i, count) {
        std::int64_t offsets[3];
        layout.at(i, offsets);
        out[offsets[0]] = convert<T>(f(convert<A>(a[offsets[1]]), convert<A>(b[offsets[2]])));
    }
}

// out[i] = f(in[i]...) for `count` contiguous elements of every operand.
template <typename T, typename F, typename... In>
void map_contiguous(T* out, std::int64_t count, F f, const In*... in) {
    if (count == 0) return;
    map_contiguous_kernel<<<blocks_for(count), threads_per_block, 0, current_stream()>>>(device_pointer(out), count, f,
                                                                                         device_pointer(in)...);
    check_launch("map_contiguous_kernel");
}

// out = f(a, b) over `shape`, each operand read with its own strides (0 along broadcast axes).
template <typename T, typename F>
void broadcast_map(T* out, const Shape& out_strides, const T* a, const Shape& a_strides, const T* b,
                   const Shape& b_strides, const Shape& shape, F f) {
    std::int64_t count = element_count(shape);
    if (count == 0) return;
    const Shape* strides[3] = {&out_strides, &a_strides, &b_strides};
    broadcast_kernel<<<blocks_for(count), threads_per_block, 0, current_stream()>>>(
        device_pointer(out), device_pointer(a), device_pointer(b), StridedOffsets<3>(shape, strides), count, f);
    check_launch("broadcast_kernel");
}

} // namespace clipft::backend::cuda
