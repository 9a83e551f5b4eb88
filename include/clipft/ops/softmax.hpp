#pragma once
// softmax and log_softmax along one axis, as fused row kernels (max, exp-sum, normalise).
#include <clipft/backend/cpu/rows.hpp>
#include <clipft/ops/rows.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

namespace clipft::ops {

// exp(x) / sum(exp(x)) along `axis`, computed with the row maximum subtracted.
template <Floating T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    check_devices("softmax", x);
    detail::RowsAlong layout("softmax", x.shape(), axis);
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
    check_devices("log_softmax", x);
    detail::RowsAlong layout("log_softmax", x.shape(), axis);
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
