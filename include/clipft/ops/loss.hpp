#pragma once
// cross_entropy over class logits with integer targets and optional class weights, like
// torch.nn.functional.cross_entropy: one fused log-softmax row kernel forward, one fused row
// kernel backward, no intermediate graph.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/rows.hpp>

namespace clipft::inline CLIPFT_BACKENDS::ops {

// How per-sample losses are combined. mean with class weights divides by the sum of the targets'
// weights, as PyTorch does; an empty batch (or all-zero target weights) then gives NaN.
enum class Reduction { mean, sum, none };

namespace detail {

// cross_entropy on a CUDA device. The per-sample losses are combined on the host, in double and in
// sample order as on the CPU (a batch has few samples); `labels` are the validated targets on the host.
template <Floating T>
Tensor<T> cross_entropy_on_device(const Tensor<T>& logits, const Tensor<std::int64_t>& targets,
                                  const Tensor<T>& class_weights, const Tensor<std::int64_t>& labels,
                                  Reduction reduction) {
    Device device = logits.device();
    std::int64_t samples = logits.shape()[0], classes = logits.shape()[1];
    Tensor<T> input = dense(logits), weights = class_weights.defined() ? dense(class_weights) : Tensor<T>();
    Tensor<std::int64_t> device_labels = dense(targets);
    Tensor<T> losses = Tensor<T>::empty({samples}, device), log_normalisers = Tensor<T>::empty({samples}, device);
    backend::cuda::cross_entropy(input.data(), device_labels.data(), weights.defined() ? weights.data() : nullptr,
                                 samples, classes, losses.data(), log_normalisers.data());
    std::vector<T> host_losses = losses.to_vector(),
                   host_weights = weights.defined() ? weights.to_vector() : std::vector<T>();
    std::vector<T> target_weights(samples, T(1));
    double total_loss = 0, total_weight = 0;
    for (std::int64_t i = 0; i < samples; ++i) {
        if (weights.defined()) target_weights[i] = host_weights[labels.data()[i]];
        total_loss += host_losses[i], total_weight += target_weights[i];
    }
    Tensor<T> out =
        reduction == Reduction::none
            ? losses
            : Tensor<T>::full({}, T(reduction == Reduction::sum ? total_loss : total_loss / total_weight), device);
    T normaliser = T(reduction == Reduction::mean ? total_weight : 1.0);
    for (T& weight : target_weights) weight /= normaliser;
    Tensor<T> scaled_weights = Tensor<T>::from_vector(target_weights).to(device);
    record("cross_entropy", out, {logits},
           [input, device_labels, log_normalisers, scaled_weights, samples, classes](const Tensor<T>& grad) {
               // coefficient_i = w[y_i] / normaliser * upstream gradient of loss_i (one shared upstream for mean and
               // sum)
               Tensor<T> coefficients = broadcast_map("cross_entropy", dense(grad), scaled_weights, functions::Times{});
               Tensor<T> dx = Tensor<T>::empty({samples, classes}, input.device());
               backend::cuda::cross_entropy_backward(input.data(), device_labels.data(), log_normalisers.data(),
                                                     coefficients.data(), samples, classes, dx.data());
               return std::vector<Tensor<T>>{dx};
           });
    return out;
}

} // namespace detail

// logits [N, C]; targets [N] holding class indices in [0, C); class_weights [C] or undefined.
// The class weights are constants: no gradient flows to them.
template <Floating T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<std::int64_t>& targets,
                        const Tensor<T>& class_weights = {}, Reduction reduction = Reduction::mean) {
    Device device = common_device("cross_entropy", logits, targets);
    if (class_weights.defined()) common_device("cross_entropy", logits, class_weights);
    if (logits.dim() != 2)
        fail("cross_entropy: logits must have shape [N, C] (one row of class scores per sample), got shape ",
             logits.shape());
    std::int64_t samples = logits.shape()[0], classes = logits.shape()[1];
    if (targets.dim() != 1 || targets.shape()[0] != samples)
        fail("cross_entropy: targets of shape ", targets.shape(), " do not match logits of shape ", logits.shape(),
             "; pass one class index per row, shape [", samples, "]");
    if (class_weights.defined() && class_weights.shape() != Shape{classes})
        fail("cross_entropy: class_weights of shape ", class_weights.shape(), " do not match logits of shape ",
             logits.shape(), "; pass one weight per class, shape [", classes, "]");
    Tensor<std::int64_t> labels = dense(targets).to(Device::cpu()); // checked on the host
    for (std::int64_t i = 0; i < samples; ++i)
        if (labels.data()[i] < 0 || labels.data()[i] >= classes)
            fail("cross_entropy: target ", labels.data()[i], " at index ", i, " is out of range for ", classes,
                 " classes (logits of shape ", logits.shape(), "); class indices must lie in [0, ", classes, ")");

    if (device.is_cuda()) return detail::cross_entropy_on_device(logits, targets, class_weights, labels, reduction);

    Tensor<T> input = dense(logits);
    Tensor<T> weights = class_weights.defined() ? dense(class_weights) : Tensor<T>();
    auto target_weight = [weights, labels](std::int64_t i) {
        return weights.defined() ? weights.data()[labels.data()[i]] : T(1);
    };
    Tensor<T> log_normalisers = Tensor<T>::empty({samples}, logits.device()); // log(sum(exp(row)))
    Tensor<T> losses = Tensor<T>::empty({samples}, logits.device());
    backend::cpu::parallel_rows(samples, classes, [&](std::int64_t i) {
        const T* row = input.data() + i * classes;
        T log_normaliser = backend::cpu::row_log_sum_exp(row, classes);
        log_normalisers.data()[i] = log_normaliser;
        losses.data()[i] = target_weight(i) * (log_normaliser - row[labels.data()[i]]);
    });
    double total_loss = 0, total_weight = 0;
    for (std::int64_t i = 0; i < samples; ++i) total_loss += losses.data()[i], total_weight += target_weight(i);
    Tensor<T> out = reduction == Reduction::none
                        ? losses
                        : Tensor<T>::scalar(T(reduction == Reduction::sum ? total_loss : total_loss / total_weight));

    // d loss_i / d logits[i] = w[y_i] * (softmax(logits[i]) - onehot(y_i)), times the upstream
    // gradient of loss_i (divided by the weight total for mean).
    T normaliser = T(reduction == Reduction::mean ? total_weight : 1.0);
    record("cross_entropy", out, {logits},
           [input, labels, log_normalisers, target_weight, normaliser, reduction, samples,
            classes](const Tensor<T>& grad) {
               Tensor<T> g = dense(grad);
               Tensor<T> dx = Tensor<T>::empty({samples, classes}, g.device());
               backend::cpu::parallel_rows(samples, classes, [&](std::int64_t i) {
                   T upstream = reduction == Reduction::none ? g.data()[i] : g.data()[0];
                   T coefficient = target_weight(i) * upstream / normaliser;
                   T* out_row = dx.data() + i * classes;
                   backend::cpu::map_row(
                       out_row, classes,
                       [shift = log_normalisers.data()[i], coefficient](auto v) {
                           using V = decltype(v);
                           return xsimd::exp(v - V(shift)) * V(coefficient);
                       },
                       input.data() + i * classes);
                   out_row[labels.data()[i]] -= coefficient;
               });
               return std::vector<Tensor<T>>{dx};
           });
    return out;
}

template <Floating T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<std::int64_t>& targets, Reduction reduction) {
    return cross_entropy(logits, targets, Tensor<T>(), reduction);
}

} // namespace clipft::ops
