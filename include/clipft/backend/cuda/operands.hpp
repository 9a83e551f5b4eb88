#pragma once
// The plain structs through which the ops hand operands to the CUDA backend. They hold pointers and
// strides only, so the CPU-only build (backend/cuda/unavailable.hpp) describes the same calls.
#include <clipft/backends.hpp>
#include <clipft/backend/host_device.hpp>

#include <cstdint>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// A row-major matrix of a cuBLAS product, or a batch of them evenly spaced.
struct DeviceMatrix {
    const void* data;
    bool transposed;               // read as op(A) = A^T
    std::int64_t leading;          // distance between rows of the stored (row-major) matrix
    std::int64_t batch_stride = 0; // distance between consecutive matrices of a batch (0: one shared matrix)
};

// A [B, H, L, D] attention operand read through its strides.
template <typename T> struct AttentionOperand {
    const T* data;
    std::int64_t strides[4]; // batch, head, position, feature

    CLIPFT_HOST_DEVICE const T* row(std::int64_t batch, std::int64_t head, std::int64_t position) const {
        return data + batch * strides[0] + head * strides[1] + position * strides[2];
    }
};

// Three arrays updated in place (parameter and two moments) from one read-only array (gradient).
template <typename T, typename Update> struct MultiTensorSlot {
    T* parameter;
    T* first_moment;
    T* second_moment;
    const T* gradient;
    std::int64_t size;
    Update update; // update(parameter, first_moment, second_moment, gradient), on the accumulation type
};

} // namespace clipft::backend::cuda
