#pragma once
// softmax and log_softmax along one axis, as fused row kernels (max, exp-sum, normalise).
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/rows.hpp>
#include <clipft/ops/rows.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#ifdef CLIPFT_WITH_CUDA
#include <clipft/backend/cuda/softmax.cuh>
#endif

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

// softmax (or log_softmax) of x's rows along the layout's axis, and its backward, on a CUDA device.
template <Floating T>
Tensor<T> softmax_on_device(const RowsAlong& layout, const Tensor<T>& x, bool logarithm) {
#ifdef CLIPFT_WITH_CUDA
    Tensor<T> rows = layout.gather(x);
    Tensor<T> out = Tensor<T>::empty(rows.shape(), rows.device());
    backend::cuda::softmax_rows(rows.data(), layout.rows(), layout.extent(), out.data(), logarithm);
    return layout.scatter(out);
#else
    fail(logarithm ? "log_softmax" : "softmax", ": a tensor on ", x.device(), " in a CPU-only translation unit");
#endif
}

template <Floating T>
Tensor<T> softmax_backward_on_device(const RowsAlong& layout, const Tensor<T>& grad, const Tensor<T>& output,
                                     bool logarithm) {
#ifdef CLIPFT_WITH_CUDA
    Tensor<T> g = layout.gather(grad), y = layout.gather(output);
    Tensor<T> dx = Tensor<T>::empty(g.shape(), g.device());
    backend::cuda::softmax_rows_backward(g.data(), y.data(), layout.rows(), layout.extent(), dx.data(), logarithm);
    return layout.scatter(dx);
#else
    fail(logarithm ? "log_softmax" : "softmax", ": a gradient on ", grad.device(), " in a CPU-only translation unit");
#endif
}

} // namespace detail

// exp(x) / sum(exp(x)) along `axis`, computed with the row maximum subtracted.
template <Floating T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    Device device = common_device("softmax", x);
    detail::RowsAlong layout("softmax", x.shape(), axis);
    if (device.is_cuda()) {
        Tensor<T> out = detail::softmax_on_device(layout, x, false);
        record("softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
            return std::vector<Tensor<T>>{detail::softmax_backward_on_device(layout, grad, output, false)};
        });
        return out;
    }
    Tensor<T> out = layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) {
        T total = backend::cpu::row_exp_sum(in, n, backend::cpu::row_max(in, n), y);
        backend::cpu::map_row(y, n, [scale = T(1) / total](auto v) { return v * decltype(v)(scale); }, y);
    }, x);
    // dx = y * (g - sum(g * y)) per row: only the output is saved.
    record("softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g, const T* y) {
            T dot = backend::cpu::row_dot(g, y, n);
            backend::cpu::map_row(dx, n, [dot](auto gv, auto yv) { return yv * (gv - decltype(gv)(dot)); }, g, y);
        }, grad, output)};
    });
    return out;
}

// x - log(sum(exp(x))) along `axis`; finite wherever x is, however large.
template <Floating T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    Device device = common_device("log_softmax", x);
    detail::RowsAlong layout("log_softmax", x.shape(), axis);
    if (device.is_cuda()) {
        Tensor<T> out = detail::softmax_on_device(layout, x, true);
        record("log_softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
            return std::vector<Tensor<T>>{detail::softmax_backward_on_device(layout, grad, output, true)};
        });
        return out;
    }
    Tensor<T> out = layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) {
        T shift = backend::cpu::row_log_sum_exp(in, n);
        backend::cpu::map_row(y, n, [shift](auto v) { return v - decltype(v)(shift); }, in);
    }, x);
    // dx = g - exp(y) * sum(g) per row: only the output is saved.
    record("log_softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g, const T* y) {
            T total = backend::cpu::row_sum(n, [](auto v) { return v; }, g);
            backend::cpu::map_row(dx, n, [total](auto gv, auto yv) {
                return gv - xsimd::exp(yv) * decltype(gv)(total);
            }, g, y);
        }, grad, output)};
    });
    return out;
}

} // namespace clipft::ops
