#pragma once
// CLIPFT_HOST_DEVICE marks the functor templates that both the CPU code (on scalars and SIMD
// batches) and CUDA kernels (on scalars) call: the element-wise ops' functions, the optimizer's
// update. They are constexpr templates, which nvcc, given --expt-relaxed-constexpr (the CUDA build
// passes it), compiles for the device on demand, only for the types kernels use; a __host__
// __device__ template could not also take the host-only SIMD batch types.
#define CLIPFT_HOST_DEVICE constexpr
