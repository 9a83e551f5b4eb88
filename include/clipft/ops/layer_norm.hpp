#pragma once
// layer_norm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias with the biased
// variance, like torch.nn.functional.layer_norm. One fused row kernel forward (statistics, then
// normalise and affine), one fused row kernel backward (dx, dweight and dbias together).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/ops/reduction.hpp>
#include <clipft/ops/rows.hpp>

#include <utility>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

// layer_norm of the contiguous rows of `input` on a CUDA device, recorded against x, weight, bias.
template <Floating T>
Tensor<T> layer_norm_on_device(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                               const Tensor<T>& input, const Tensor<T>& scale, const Tensor<T>& shift,
                               std::int64_t rows, std::int64_t extent, double eps) {
    Device device = input.device();
    Tensor<T> means = Tensor<T>::empty({rows}, device), rstds = Tensor<T>::empty({rows}, device);
    Tensor<T> out = Tensor<T>::empty(x.shape(), device);
    backend::cuda::layer_norm(input.data(), scale.data(), shift.data(), rows, extent, eps, out.data(), means.data(),
                              rstds.data());
    bool grad_x = needs_grad(x), grad_weight = needs_grad(weight), grad_bias = needs_grad(bias);
    record("layer_norm", out, {x, weight, bias},
           [input, scale, means, rstds, rows, extent, grad_x, grad_weight, grad_bias](const Tensor<T>& grad) {
               Tensor<T> g = dense(grad);
               Device grad_device = g.device();
               Tensor<T> dx = grad_x ? Tensor<T>::empty(input.shape(), grad_device) : Tensor<T>();
               Tensor<T> dweight = grad_weight ? Tensor<T>::empty({extent}, grad_device) : Tensor<T>();
               Tensor<T> dbias = grad_bias ? Tensor<T>::empty({extent}, grad_device) : Tensor<T>();
               auto pointer = [](const Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
               backend::cuda::layer_norm_backward(grad_device, g.data(), input.data(), scale.data(), means.data(),
                                                  rstds.data(), rows, extent, pointer(dx), pointer(dweight),
                                                  pointer(dbias));
               return std::vector<Tensor<T>>{dx, dweight, dbias};
           });
    return out;
}

} // namespace detail

// Normalises over the last axis of x [..., D]. weight and bias ([D]) are optional: an undefined
// weight scales by 1, an undefined bias adds 0.
template <Floating T>
Tensor<T> layer_norm(const Tensor<T>& x, const Tensor<T>& weight = {}, const Tensor<T>& bias = {}, double eps = 1e-5) {
    // Absent parameters stand in as x, which trivially shares x's device.
    Device device = common_device("layer_norm", x, weight.defined() ? weight : x, bias.defined() ? bias : x);
    if (x.dim() == 0) fail("layer_norm: the input must have at least one axis (shape [..., D]), got shape []");
    if (!(eps >= 0)) fail("layer_norm: eps must be >= 0, got ", eps, " (input of shape ", x.shape(), ")");
    std::int64_t extent = x.shape().back();
    for (auto [parameter, name] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}})
        if (parameter->defined() && parameter->shape() != Shape{extent})
            fail("layer_norm: ", name, " of shape ", parameter->shape(), " does not match the input of shape ",
                 x.shape(), "; it must have shape [", extent, "], the size of the normalised last axis");
    std::int64_t rows = element_count(Shape(x.shape().begin(), x.shape().end() - 1));

    Tensor<T> input = dense(x);
    Tensor<T> scale = weight.defined() ? dense(weight) : Tensor<T>::ones({extent}, x.device());
    Tensor<T> shift = bias.defined() ? dense(bias) : Tensor<T>::zeros({extent}, x.device());
    if (device.is_cuda()) return detail::layer_norm_on_device(x, weight, bias, input, scale, shift, rows, extent, eps);
    Tensor<T> means = Tensor<T>::empty({rows}, x.device()), rstds = Tensor<T>::empty({rows}, x.device());
    Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
    backend::cpu::parallel_rows(rows, extent, [&](std::int64_t row) {
        const T* in = input.data() + row * extent;
        auto [mean, variance] = backend::cpu::row_mean_variance(in, extent);
        T m = T(mean), r = T(1.0 / std::sqrt(variance + eps));
        means.data()[row] = m;
        rstds.data()[row] = r;
        backend::cpu::map_row(
            out.data() + row * extent, extent,
            [m, r](auto v, auto w, auto b) {
                using V = decltype(v);
                return (v - V(m)) * V(r) * w + b;
            },
            in, scale.data(), shift.data());
    });

    bool grad_x = needs_grad(x), grad_weight = needs_grad(weight), grad_bias = needs_grad(bias);
    record("layer_norm", out, {x, weight, bias},
           [input, scale, means, rstds, rows, extent, grad_x, grad_weight, grad_bias](const Tensor<T>& grad) {
               Tensor<T> g = dense(grad);
               Tensor<T> dx = grad_x ? Tensor<T>::empty(input.shape(), input.device()) : Tensor<T>();
               // Rows are split into at most one chunk per thread; each chunk adds its rows' dweight and
               // dbias terms into its own slice of `partial`, and the slices are summed in chunk order,
               // so the result does not depend on thread timing.
               std::int64_t grain = backend::cpu::rows_per_task(extent);
               std::int64_t chunks = std::clamp<std::int64_t>((rows + grain - 1) / grain, 1, backend::num_threads());
               Tensor<T> partial =
                   grad_weight || grad_bias ? Tensor<T>::zeros({chunks, 2, extent}, g.device()) : Tensor<T>();
               const T* w = scale.data();
               backend::parallel_for(chunks, 1, [&](std::int64_t first_chunk, std::int64_t end_chunk) {
                   for (std::int64_t chunk = first_chunk; chunk < end_chunk; ++chunk)
                       for (std::int64_t row = rows * chunk / chunks; row < rows * (chunk + 1) / chunks; ++row) {
                           const T* in = input.data() + row * extent;
                           const T* gr = g.data() + row * extent;
                           T r = rstds.data()[row];
                           auto normalised = [m = means.data()[row], r](auto v) {
                               using V = decltype(v);
                               return (v - V(m)) * V(r);
                           };
                           if (partial.defined()) {
                               T* dweight = partial.data() + chunk * 2 * extent;
                               T* dbias = dweight + extent;
                               backend::cpu::map_row(
                                   dweight, extent,
                                   [normalised](auto total, auto gv, auto v) { return total + gv * normalised(v); },
                                   dweight, gr, in);
                               backend::cpu::map_row(
                                   dbias, extent, [](auto total, auto gv) { return total + gv; }, dbias, gr);
                           }
                           if (dx.defined()) { // dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat))
                               T mean_gw = backend::cpu::row_sum(
                                               extent, [](auto gv, auto wv) { return gv * wv; }, gr, w) /
                                           T(extent);
                               T mean_gwx =
                                   backend::cpu::row_sum(
                                       extent,
                                       [normalised](auto gv, auto wv, auto v) { return gv * wv * normalised(v); }, gr,
                                       w, in) /
                                   T(extent);
                               auto gradient = [normalised, r, mean_gw, mean_gwx](auto gv, auto wv, auto v) {
                                   using V = decltype(v);
                                   return V(r) * (gv * wv - V(mean_gw) - normalised(v) * V(mean_gwx));
                               };
                               backend::cpu::map_row(dx.data() + row * extent, extent, gradient, gr, w, in);
                           }
                       }
               });
               Tensor<T> totals = partial.defined() ? sum(partial, {0}, false) : Tensor<T>();
               return std::vector<Tensor<T>>{dx, grad_weight ? totals.select(0, 0) : Tensor<T>(),
                                             grad_bias ? totals.select(0, 1) : Tensor<T>()};
           });
    return out;
}

} // namespace clipft::ops
