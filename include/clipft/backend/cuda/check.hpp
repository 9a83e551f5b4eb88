#pragma once
// CUDA status codes turned into clipft::Error naming the failed call (cuBLAS's: cublas_library.hpp).
// Every header of the CUDA backend includes this one; the backend is compiled only by nvcc, in
// translation units built with CLIPFT_WITH_CUDA (CMake defines it for CUDA sources only).
#if !defined(__CUDACC__)
#error "clipft's CUDA backend is compiled by nvcc: build this file as CUDA (.cu), or leave CLIPFT_WITH_CUDA undefined"
#endif
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <cuda_runtime.h>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

inline void check_cuda(cudaError_t status, const char* call) {
    if (status != cudaSuccess)
        fail("CUDA error in ", call, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

// A kernel launch reports bad configurations only through cudaGetLastError.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

} // namespace clipft::backend::cuda

// The call's own text names it in the message: CLIPFT_CUDA_CHECK(cudaMalloc(&p, n)).
#define CLIPFT_CUDA_CHECK(call) ::clipft::backend::cuda::check_cuda((call), #call)
