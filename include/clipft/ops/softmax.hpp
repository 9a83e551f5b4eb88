#pragma once
// softmax and log_softmax along one axis, as fused row kernels (max, exp-sum, normalise). A fully
// masked row (all -inf) gives zeros (log_softmax: -inf), as backend/cpu/softmax.hpp documents.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/softmax.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/ops/rows.hpp>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

// softmax (or log_softmax) of x's rows along the layout's axis, and its backward, on a CUDA device.
template <Floating T> Tensor<T> softmax_on_device(const RowsAlong& layout, const Tensor<T>& x, bool logarithm) {
    Tensor<T> rows = layout.gather(x);
    Tensor<T> out = Tensor<T>::empty(rows.shape(), rows.device());
    backend::cuda::softmax_rows(rows.data(), layout.rows(), layout.extent(), out.data(), logarithm);
    return layout.scatter(out);
}

template <Floating T>
Tensor<T> softmax_backward_on_device(const RowsAlong& layout, const Tensor<T>& grad, const Tensor<T>& output,
                                     bool logarithm) {
    Tensor<T> g = layout.gather(grad), y = layout.gather(output);
    Tensor<T> dx = Tensor<T>::empty(g.shape(), g.device());
    backend::cuda::softmax_rows_backward(g.data(), y.data(), layout.rows(), layout.extent(), dx.data(), logarithm);
    return layout.scatter(dx);
}

} // namespace detail

// exp(x) / sum(exp(x)) along `axis`, computed with the row maximum subtracted.
template <Floating T> Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    Device device = common_device("softmax", x);
    detail::RowsAlong layout("softmax", x.shape(), axis);
    if (device.is_cuda()) {
        Tensor<T> out = detail::softmax_on_device(layout, x, false);
        record("softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
            return std::vector<Tensor<T>>{detail::softmax_backward_on_device(layout, grad, output, false)};
        });
        return out;
    }
    Tensor<T> out =
        layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) { backend::cpu::softmax_row(in, n, y); }, x);
    // Only the output is saved.
    record("softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g,
                                                    const T* y) { backend::cpu::softmax_backward_row(g, y, n, dx); },
                                                 grad, output)};
    });
    return out;
}

// x - log(sum(exp(x))) along `axis`; finite wherever x is, however large.
template <Floating T> Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    Device device = common_device("log_softmax", x);
    detail::RowsAlong layout("log_softmax", x.shape(), axis);
    if (device.is_cuda()) {
        Tensor<T> out = detail::softmax_on_device(layout, x, true);
        record("log_softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
            return std::vector<Tensor<T>>{detail::softmax_backward_on_device(layout, grad, output, true)};
        });
        return out;
    }
    Tensor<T> out =
        layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) { backend::cpu::log_softmax_row(in, n, y); }, x);
    // Only the output is saved.
    record("log_softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{
            layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g,
                          const T* y) { backend::cpu::log_softmax_backward_row(g, y, n, dx); },
                       grad, output)};
    });
    return out;
}

} // namespace clipft::ops
