#pragma once
// The CUDA backend as tensor.hpp, ops/ and optim/ call it: the kernels where nvcc compiles the
// translation unit with CLIPFT_WITH_CUDA, otherwise entry points of the same names that fail with
// the one "no CUDA backend" error (backend/cuda/unavailable.hpp). The one place that asks.
#include <clipft/backends.hpp>

#ifdef CLIPFT_WITH_CUDA
#include <clipft/backend/cuda/attention.cuh>
#include <clipft/backend/cuda/blas.hpp>
#include <clipft/backend/cuda/cross_entropy.cuh>
#include <clipft/backend/cuda/elementwise.cuh>
#include <clipft/backend/cuda/embedding.cuh>
#include <clipft/backend/cuda/layer_norm.cuh>
#include <clipft/backend/cuda/memory.hpp>
#include <clipft/backend/cuda/multi_tensor.cuh>
#include <clipft/backend/cuda/reduce.cuh>
#include <clipft/backend/cuda/softmax.cuh>
#include <clipft/backend/cuda/strided.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {
// Whether this translation unit runs kernels on CUDA devices.
inline constexpr bool available = true;
} // namespace clipft::backend::cuda
#else
#include <clipft/backend/cuda/unavailable.hpp>
#endif
