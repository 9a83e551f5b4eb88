#pragma once
// Argument checks shared by the ops. Messages name the op and the shapes involved.
#include <clipft/backends.hpp>
#include <clipft/autograd.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/device.hpp>
#include <clipft/error.hpp>

#include <initializer_list>

namespace clipft::inline CLIPFT_BACKENDS::ops {

template <typename T> void check_defined(const char* op, const Tensor<T>& x, const char* what = "input") {
    if (!x.defined()) fail(op, ": the ", what, " is an undefined tensor");
}

template <typename T>
void check_rank(const char* op, const Tensor<T>& x, std::int64_t rank, const char* what = "input") {
    check_defined(op, x, what);
    if (x.dim() != rank) fail(op, ": the ", what, " must have rank ", rank, ", got shape ", x.shape());
}

// The device dispatch point of the ops with a CUDA kernel: the one device of all inputs, on which
// the op then runs. CUDA devices are accepted only in translation units built with the CUDA
// backend (backend/cuda.hpp); elsewhere a CUDA tensor is a clear error rather than a crash.
template <typename T, typename... More>
Device common_device(const char* op, const Tensor<T>& first, const More&... more) {
    check_defined(op, first);
    (check_defined(op, more), ...);
    Device device = first.device();
    for (Device other : std::initializer_list<Device>{more.device()...})
        if (other != device)
            fail(op, ": inputs are on different devices (", device, " and ", other, "); move them to one device");
    if (!device.is_cpu() && !backend::cuda::available) fail_without_cuda_backend(op, ": no kernel for device ", device);
    return device;
}

// The same checks for the ops that run on the CPU only.
template <typename T, typename... More>
void check_devices(const char* op, const Tensor<T>& first, const More&... more) {
    Device device = common_device(op, first, more...);
    if (!device.is_cpu()) fail(op, ": no kernel for device ", device, " yet; move the inputs to the CPU for this op");
}

// A contiguous copy (or the tensor itself) that is not recorded in the graph, for kernels.
template <typename T> Tensor<T> dense(const Tensor<T>& x) { return x.detach().contiguous(); }

} // namespace clipft::ops

// Last: tensor.hpp ends by including the ops that autograd calls back (ops/elementwise.hpp), which
// need the checks above, whichever of the two headers a program includes first.
#include <clipft/tensor.hpp>
