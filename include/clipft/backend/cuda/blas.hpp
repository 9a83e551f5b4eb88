#pragma once
// Matrix products on the GPU: cublasGemmStridedBatchedEx for every product, row-major operands
// described like the CPU's (pointer, transposed flag, leading dimension), float accumulation for
// the 16-bit types. cuBLAS is column-major, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/cublas_library.hpp>
#include <clipft/backend/cuda/launch.cuh>
#include <clipft/backend/cuda/operands.hpp>

#include <array>
#include <memory>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// One handle per thread and device (cuBLAS handles are not to be shared between threads).
inline cublasHandle_t blas_handle(int device) {
    constexpr int most_devices = 64;
    struct Handles {
        std::array<cublasHandle_t, most_devices> handles{};
        ~Handles() {
            for (cublasHandle_t handle : handles)
                if (handle) cublas().destroy(handle);
        }
    };
    thread_local Handles cache;
    if (device < 0 || device >= most_devices) fail("blas_handle: CUDA device index ", device, " is out of range");
    cublasHandle_t& handle = cache.handles[device];
    if (!handle) CLIPFT_CUBLAS_CHECK(cublas().create(&handle));
    CLIPFT_CUBLAS_CHECK(cublas().set_stream(handle, current_stream()));
    return handle;
}

template <typename T> constexpr cudaDataType_t cuda_data_type();
template <> constexpr cudaDataType_t cuda_data_type<float>() { return CUDA_R_32F; }
template <> constexpr cudaDataType_t cuda_data_type<double>() { return CUDA_R_64F; }
template <> constexpr cudaDataType_t cuda_data_type<Half>() { return CUDA_R_16F; }
template <> constexpr cudaDataType_t cuda_data_type<BFloat16>() { return CUDA_R_16BF; }

// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b < batch: m x n results from k-long dot
// products, all row-major. A and B have the storage type T; C has T or, for 16-bit inputs, float
// (the products of autocast accumulate and may be stored in float).
template <typename T, typename Out = T>
void gemm_strided_batched(Device device, std::int64_t m, std::int64_t n, std::int64_t k, DeviceMatrix a, DeviceMatrix b,
                          double beta, Out* c, std::int64_t ldc, std::int64_t c_batch_stride, std::int64_t batch) {
    if (m == 0 || n == 0 || batch == 0) return;
    use_device(device);
    using Scalar = std::conditional_t<std::is_same_v<T, double>, double, float>;
    Scalar alpha_value = 1, beta_value = Scalar(beta);
    cublasComputeType_t compute = std::is_same_v<T, double> ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F;
    CLIPFT_CUBLAS_CHECK(cublas().gemm_strided_batched(
        blas_handle(device.index), b.transposed ? CUBLAS_OP_T : CUBLAS_OP_N, a.transposed ? CUBLAS_OP_T : CUBLAS_OP_N,
        int(n), int(m), int(k), &alpha_value, b.data, cuda_data_type<T>(), int(b.leading), b.batch_stride, a.data,
        cuda_data_type<T>(), int(a.leading), a.batch_stride, &beta_value, c, cuda_data_type<Out>(), int(ldc),
        c_batch_stride, int(batch), compute, CUBLAS_GEMM_DEFAULT));
}

// c[b] = 0 for b < batch, m x n matrices with rows ldc apart: the result of a product with k = 0,
// which cuBLAS would not write.
template <typename T>
void zero_matrices(Device device, std::int64_t m, std::int64_t n, T* c, std::int64_t ldc, std::int64_t c_batch_stride,
                   std::int64_t batch) {
    if (m == 0 || n == 0 || batch == 0) return;
    use_device(device);
    for (std::int64_t index = 0; index < batch; ++index)
        CLIPFT_CUDA_CHECK(cudaMemset2DAsync(c + index * c_batch_stride, std::size_t(ldc) * sizeof(T), 0,
                                            std::size_t(n) * sizeof(T), std::size_t(m), current_stream()));
}

} // namespace clipft::backend::cuda
