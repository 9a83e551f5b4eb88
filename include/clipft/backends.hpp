#pragma once
// Which backends a translation unit compiles. Code built with the CUDA backend (nvcc and
// CLIPFT_WITH_CUDA) differs from CPU-only code: its ops run kernels where the others refuse CUDA
// tensors. So each build of clipft lives in its own inline namespace, clipft::cpu_and_cuda or
// clipft::cpu_only, the way libstdc++ tags its ABIs: a program may mix .cu and .cpp files without
// the linker silently keeping one build's copy of an inline function for both. Only clipft::Error
// (error.hpp) stays outside, the same in every build, so that exceptions cross from one to the other.
#include <clipft/error.hpp>

#ifdef CLIPFT_WITH_CUDA
#define CLIPFT_BACKENDS cpu_and_cuda
#else
#define CLIPFT_BACKENDS cpu_only
#endif

namespace clipft::inline CLIPFT_BACKENDS {
// error.hpp's printer of shapes, which the printers declared in here would otherwise hide.
using ::clipft::operator<<;
} // namespace clipft::inline CLIPFT_BACKENDS
