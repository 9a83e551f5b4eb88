#pragma once
// Clipping by the global gradient norm, like torch.nn.utils.clip_grad_norm_: when the L2 norm of all
// gradients together exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
#include <clipft/backends.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/indexing.hpp>
#include <clipft/ops/reduction.hpp>

#include <cmath>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::optim {

// Returns the norm before clipping: accumulated in double on the CPU; on a GPU each gradient's
// squares are summed there (in float) and read back once for all. Parameters without a gradient
// are skipped.
template <Floating T> double clip_gradient_norm(const std::vector<Tensor<T>>& parameters, double max_norm) {
    if (!(max_norm > 0)) fail("clip_gradient_norm: max_norm must be positive, got ", max_norm);
    NoGradGuard no_grad;
    double squares = 0;
    std::vector<Tensor<T>> device_squares;
    for (const Tensor<T>& parameter : parameters) {
        Tensor<T> grad = parameter.grad();
        if (!grad.defined()) continue;
        if (!grad.device().is_cpu()) {
            device_squares.push_back(ops::sum(grad * grad).reshape({1}));
            continue;
        }
        const T* data = grad.data(); // held contiguous (Tensor::accumulate_grad): read in place, no copy
        for (std::int64_t i = 0; i < grad.numel(); ++i) squares += double(data[i]) * double(data[i]);
    }
    if (!device_squares.empty()) squares += double(ops::sum(ops::concat(device_squares, 0)).item());
    double norm = std::sqrt(squares);
    double coefficient = max_norm / (norm + 1e-6);
    if (coefficient < 1) {
        for (const Tensor<T>& parameter : parameters) {
            Tensor<T> grad = parameter.grad();
            if (!grad.defined()) continue;
            if (!grad.device().is_cpu()) {
                grad.copy_(grad * T(coefficient));
                continue;
            }
            T* data = grad.data();
            for (std::int64_t i = 0; i < grad.numel(); ++i) data[i] = T(data[i] * T(coefficient));
        }
    }
    return norm;
}

} // namespace clipft::optim
