#pragma once
// l2_normalize: x / max(||x||_2, eps) along one axis, like torch.nn.functional.normalize; one fused
// row kernel forward and one backward.
#include <clipft/backends.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/rows.hpp>

namespace clipft::inline CLIPFT_BACKENDS::ops {

template <Floating T> Tensor<T> l2_normalize(const Tensor<T>& x, std::int64_t axis = -1, double eps = 1e-12) {
    Device device = common_device("l2_normalize", x);
    if (!(eps > 0)) fail("l2_normalize: eps must be positive, got ", eps, " (tensor of shape ", x.shape(), ")");
    if (device.is_cuda()) {
        // Composed of ops with CUDA kernels: max(norm, eps) is sqrt(relu(norm^2 - eps^2) + eps^2),
        // whose gradient is the CPU kernel's, the norm's above eps and none below (and finite at
        // a zero row, where sqrt(norm^2) would not be).
        Tensor<T> eps_squared = Tensor<T>::full({}, T(eps * eps), device);
        return x / sqrt(relu(sum(x * x, {axis}, true) - eps_squared) + eps_squared);
    }
    detail::RowsAlong layout("l2_normalize", x.shape(), axis);
    Tensor<T> norms = Tensor<T>::empty({layout.rows()}, x.device()); // per row, in the layout's row order
    T min_norm = T(eps);
    Tensor<T> out = layout.map(
        [&](std::int64_t row, std::int64_t n, T* y, const T* in) {
            T norm = std::sqrt(backend::cpu::row_dot(in, in, n));
            norms.data()[row] = norm;
            backend::cpu::map_row(
                y, n, [scale = T(1) / std::max(norm, min_norm)](auto v) { return v * decltype(v)(scale); }, in);
        },
        x);
    // Where the norm exceeds eps, dx = (g - y * sum(g * y)) / norm; below it the divisor is the
    // constant eps and dx = g / eps.
    record("l2_normalize", out, {x}, [layout, min_norm, norms, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map(
            [&](std::int64_t row, std::int64_t n, T* dx, const T* g, const T* y) {
                T norm = norms.data()[row];
                T dot = norm > min_norm ? backend::cpu::row_dot(g, y, n) : T(0);
                backend::cpu::map_row(
                    dx, n,
                    [dot, scale = T(1) / std::max(norm, min_norm)](auto gv, auto yv) {
                        using V = decltype(gv);
                        return (gv - yv * V(dot)) * V(scale);
                    },
                    g, y);
            },
            grad, output)};
    });
    return out;
}

} // namespace clipft::ops
