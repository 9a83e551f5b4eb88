#pragma once
// The CUDA backend of a CPU-only translation unit (a .cpp file, or a build without CUDA): the entry
// points of backend/cuda/ with the same signatures, each failing with the one "no CUDA backend"
// error. The ops call the CUDA backend for CUDA tensors without asking how they were compiled.
#include <clipft/backends.hpp>
#include <clipft/backend/attention_shape.hpp>
#include <clipft/backend/cuda/operands.hpp>
#include <clipft/device.hpp>
#include <clipft/shape.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// Whether this translation unit runs kernels on CUDA devices.
inline constexpr bool available = false;

[[noreturn]] inline void use_device(Device device) { fail_without_cuda_backend("using ", device); }

[[noreturn]] inline std::shared_ptr<void> allocate(std::size_t bytes, Device device) {
    fail_without_cuda_backend("allocating ", bytes, " bytes on ", device);
}

[[noreturn]] inline void copy_bytes(void*, Device destination_device, const void*, Device source_device, std::size_t) {
    fail_without_cuda_backend("copying a tensor from ", source_device, " to ", destination_device);
}

template <typename To, typename From>
[[noreturn]] void strided_copy(To*, const Shape&, const From*, const Shape&, const Shape&) {
    fail_without_cuda_backend("copying a tensor on a CUDA device");
}

template <typename T> [[noreturn]] void fill(T*, const Shape&, const Shape&, T) {
    fail_without_cuda_backend("filling a tensor on a CUDA device");
}

template <typename T, typename F, typename... In> [[noreturn]] void map_contiguous(T*, std::int64_t, F, const In*...) {
    fail_without_cuda_backend("an element-wise op on a CUDA device");
}

template <typename T, typename F>
[[noreturn]] void broadcast_map(T*, const Shape&, const T*, const Shape&, const T*, const Shape&, const Shape&, F) {
    fail_without_cuda_backend("an element-wise op on a CUDA device");
}

template <typename T> [[noreturn]] void sum_rows(const T*, std::int64_t, std::int64_t, T*) {
    fail_without_cuda_backend("sum on a CUDA device");
}

template <typename T> [[noreturn]] void sum_columns(Device device, const T*, std::int64_t, std::int64_t, T*) {
    fail_without_cuda_backend("sum on ", device);
}

template <typename T> [[noreturn]] void softmax_rows(const T*, std::int64_t, std::int64_t, T*, bool logarithm) {
    fail_without_cuda_backend(logarithm ? "log_softmax" : "softmax", " on a CUDA device");
}

template <typename T>
[[noreturn]] void softmax_rows_backward(const T*, const T*, std::int64_t, std::int64_t, T*, bool logarithm) {
    fail_without_cuda_backend(logarithm ? "log_softmax" : "softmax", " backward on a CUDA device");
}

template <typename T>
[[noreturn]] void layer_norm(const T*, const T*, const T*, std::int64_t, std::int64_t, double, T*, T*, T*) {
    fail_without_cuda_backend("layer_norm on a CUDA device");
}

template <typename T>
[[noreturn]] void layer_norm_backward(Device device, const T*, const T*, const T*, const T*, const T*, std::int64_t,
                                      std::int64_t, T*, T*, T*) {
    fail_without_cuda_backend("layer_norm backward on ", device);
}

template <typename T> [[noreturn]] void gather_rows(const T*, const std::int64_t*, std::int64_t, std::int64_t, T*) {
    fail_without_cuda_backend("embedding on a CUDA device");
}

template <typename T>
[[noreturn]] void scatter_add_rows(const T*, const std::int64_t*, std::int64_t, std::int64_t, T*) {
    fail_without_cuda_backend("embedding backward on a CUDA device");
}

template <typename T>
[[noreturn]] void cross_entropy(const T*, const std::int64_t*, const T*, std::int64_t, std::int64_t, T*, T*) {
    fail_without_cuda_backend("cross_entropy on a CUDA device");
}

template <typename T>
[[noreturn]] void cross_entropy_backward(const T*, const std::int64_t*, const T*, const T*, std::int64_t, std::int64_t,
                                         T*) {
    fail_without_cuda_backend("cross_entropy backward on a CUDA device");
}

template <typename T, typename LogNormaliser>
[[noreturn]] void attention_forward(AttentionOperand<T>, AttentionOperand<T>, AttentionOperand<T>, AttentionOperand<T>,
                                    AttentionShape, double, T*, LogNormaliser*) {
    fail_without_cuda_backend("scaled_dot_product_attention on a CUDA device");
}

template <typename T, typename LogNormaliser>
[[noreturn]] void attention_backward(AttentionOperand<T>, AttentionOperand<T>, AttentionOperand<T>, AttentionOperand<T>,
                                     AttentionShape, double, const T*, const T*, const LogNormaliser*, LogNormaliser*,
                                     T*, T*, T*) {
    fail_without_cuda_backend("scaled_dot_product_attention backward on a CUDA device");
}

template <typename T, typename Out = T>
[[noreturn]] void gemm_strided_batched(Device device, std::int64_t, std::int64_t, std::int64_t, DeviceMatrix,
                                       DeviceMatrix, double, Out*, std::int64_t, std::int64_t, std::int64_t) {
    fail_without_cuda_backend("a matrix product on ", device);
}

template <typename T>
[[noreturn]] void zero_matrices(Device device, std::int64_t, std::int64_t, T*, std::int64_t, std::int64_t,
                                std::int64_t) {
    fail_without_cuda_backend("a matrix product on ", device);
}

template <typename T, typename Update>
[[noreturn]] void multi_tensor_update(Device device, const std::vector<MultiTensorSlot<T, Update>>&) {
    fail_without_cuda_backend("an optimizer step on ", device);
}

} // namespace clipft::backend::cuda
