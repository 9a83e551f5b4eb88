#pragma once
// A matrix read in place through its strides, the operand of the CPU's own product kernels (the
// attention heads' float products, head_product.hpp, and the bfloat16 kernel, bfloat16_gemm.hpp).
#include <clipft/backends.hpp>

#include <cstdint>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// Element (r, c) is data[r * row_stride + c * column_stride], so a transposed operand is the same
// memory with the strides swapped.
template <typename T> struct StridedMatrix {
    const T* data;
    std::int64_t row_stride, column_stride;
    T operator()(std::int64_t r, std::int64_t c) const { return data[r * row_stride + c * column_stride]; }
    StridedMatrix transposed() const { return {data, column_stride, row_stride}; }
    // The matrix whose element (0, 0) is this one's (row, column).
    StridedMatrix at(std::int64_t row, std::int64_t column) const {
        return {data + row * row_stride + column * column_stride, row_stride, column_stride};
    }
};

} // namespace clipft::backend::cpu
