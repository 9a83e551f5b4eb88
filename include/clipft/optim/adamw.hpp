#pragma once
// AdamW (Loshchilov and Hutter, 2019) exactly as torch.optim.AdamW computes it, so that a step here
// and a step there agree to float rounding: decoupled weight decay applied to the parameter first,
// moment estimates with bias correction, per-parameter step counts. Scalars are computed in double
// and the element-wise updates in the parameter's type, like PyTorch's CPU kernels.
//
// Moments are allocated at a parameter's first update, so parameters that never receive a
// gradient (frozen ones) hold no optimizer memory. On a CUDA device every parameter of a step() is
// updated by one fused multi-tensor kernel launch; backward_and_step() launches one per parameter,
// as its gradient completes.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/backend/math.hpp>
#include <clipft/tensor.hpp>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::optim {

template <Floating T> using NamedParameters = std::vector<std::pair<std::string, Tensor<T>>>;

// Parameters that share a weight decay.
template <Floating T> struct ParameterGroup {
    NamedParameters<T> parameters;
    double weight_decay = 0.0;
};

struct AdamWOptions {
    double learning_rate = 1e-3;
    double beta1 = 0.9, beta2 = 0.999; // PyTorch's defaults; CLIP fine-tuning uses (0.9, 0.98)
    double eps = 1e-8;
};

// The usual split for transformers: no decay on gains, biases (every tensor with fewer than two
// axes), embeddings and logit_scale; `weight_decay` on the rest. Parameters that do not require
// gradients (frozen ones) are left out.
template <Floating T>
std::vector<ParameterGroup<T>> decay_groups(const NamedParameters<T>& parameters, double weight_decay) {
    ParameterGroup<T> decayed{{}, weight_decay}, not_decayed{{}, 0.0};
    for (const auto& [name, tensor] : parameters) {
        if (!tensor.requires_grad()) continue;
        bool exempt = tensor.dim() < 2 || name.find("embedding") != std::string::npos || name == "logit_scale";
        (exempt ? not_decayed : decayed).parameters.emplace_back(name, tensor);
    }
    return {decayed, not_decayed};
}

// One group with the same decay on every trainable parameter (what torch.optim.AdamW(model.parameters()) does).
template <Floating T>
std::vector<ParameterGroup<T>> single_group(const NamedParameters<T>& parameters, double weight_decay) {
    ParameterGroup<T> group{{}, weight_decay};
    for (const auto& [name, tensor] : parameters)
        if (tensor.requires_grad()) group.parameters.emplace_back(name, tensor);
    return {group};
}

// The update of one element with the scalars of one parameter's step (each rounded to T once, the
// scalars PyTorch's kernels see), written once for SIMD batches, scalars and CUDA threads.
template <Floating T> struct AdamWUpdate {
    T decay, keep1, new1, keep2, new2, correction2_root, eps, step_size;

    template <typename V> CLIPFT_HOST_DEVICE void operator()(V& p, V& m, V& v, V g) const {
        p = p * V(decay);
        m = m * V(keep1) + g * V(new1);
        v = v * V(keep2) + V(new2) * g * g;
        p = p + V(step_size) * (m / (backend::math::sqrt(v) / V(correction2_root) + V(eps)));
    }
};

template <Floating T> class AdamW {
public:
    struct Moments {
        Tensor<T> exp_avg, exp_avg_sq;
        std::int64_t step = 0;
    };

    AdamW(std::vector<ParameterGroup<T>> groups, AdamWOptions options) : groups_(std::move(groups)), options_(options) {
        if (!(options.learning_rate >= 0) || !(options.eps >= 0) || !(options.beta1 >= 0 && options.beta1 < 1) ||
            !(options.beta2 >= 0 && options.beta2 < 1))
            fail("AdamW: invalid options (learning rate ", options.learning_rate, ", betas (", options.beta1, ", ",
                 options.beta2, "), eps ", options.eps, "); need lr >= 0, eps >= 0 and betas in [0, 1)");
        std::map<std::string, int> seen;
        for (const auto& group : groups_)
            for (const auto& [name, tensor] : group.parameters) {
                if (!tensor.requires_grad())
                    fail("AdamW: parameter '", name,
                         "' does not require gradients (frozen); leave it out of the optimizer");
                if (seen[name]++) fail("AdamW: parameter '", name, "' is given twice");
            }
    }

    double learning_rate() const { return options_.learning_rate; }
    void set_learning_rate(double learning_rate) { options_.learning_rate = learning_rate; }
    const AdamWOptions& options() const { return options_; }
    const std::vector<ParameterGroup<T>>& groups() const { return groups_; }

    // Updates every parameter that has a gradient; the others (and their step counts) stay as they are.
    // Every check comes first: a step that fails leaves parameters, moments and step counts untouched.
    void step() {
        NoGradGuard no_grad;
        struct Pending {
            const std::string& name;
            Tensor<T> parameter, gradient;
            double weight_decay;
        };
        std::vector<Pending> pending;
        std::optional<Device> gpu; // the one CUDA device of the parameters that live on one
        for (const auto& group : groups_)
            for (const auto& [name, parameter] : group.parameters) {
                Tensor<T> grad = parameter.grad();
                if (!grad.defined()) continue;
                check(name, parameter, grad);
                Device device = parameter.device();
                if (!device.is_cpu()) {
                    if (gpu && *gpu != device)
                        fail("AdamW: parameters on ", *gpu, " and ", device, " ('", name,
                             "'); keep a model's parameters on one device");
                    gpu = device;
                }
                pending.push_back({name, parameter, grad.contiguous(), group.weight_decay});
            }
        std::vector<backend::cuda::MultiTensorSlot<T, AdamWUpdate<T>>> device_slots;
        for (const Pending& item : pending) {
            auto [moments, update] = next_update(item.name, item.parameter, item.weight_decay);
            if (item.parameter.device().is_cpu())
                update_on_cpu(item.parameter, item.gradient, moments, update);
            else
                device_slots.push_back({item.parameter.data(), moments.exp_avg.data(), moments.exp_avg_sq.data(),
                                        item.gradient.data(), item.parameter.numel(), update});
        }
        // `pending` keeps the contiguous gradients alive until the launch.
        if (!device_slots.empty()) backend::cuda::multi_tensor_update(*gpu, device_slots);
    }

    // loss.backward(), updating each parameter of this optimizer as soon as backward() has completed
    // its gradient and dropping that gradient: the gradients never exist all at once (a model's
    // worth of memory saved). Each parameter gets the update that backward(), step() and zero_grad()
    // give it; a gradient that fails step()'s checks stops backward() with step()'s error, with the
    // parameters updated so far staying updated. Only for a step that needs nothing of the whole
    // gradient: no clipping by the global norm, no accumulation over several backward passes, no
    // average over ranks, no loss scaling.
    void backward_and_step(const Tensor<T>& loss) {
        struct Entry {
            const std::string& name;
            Tensor<T> parameter;
            double weight_decay;
        };
        std::unordered_map<const TensorImpl<T>*, Entry> entries;
        for (const auto& group : groups_)
            for (const auto& [name, parameter] : group.parameters)
                entries.emplace(parameter.impl().get(), Entry{name, parameter, group.weight_decay});
        GradientCompleteGuard<T> updating([&](const std::shared_ptr<TensorImpl<T>>& leaf) {
            auto found = entries.find(leaf.get());
            if (found == entries.end()) return; // a leaf this optimizer does not update
            Entry& entry = found->second;
            Tensor<T> grad = entry.parameter.grad();
            if (!grad.defined()) return;
            NoGradGuard no_grad;
            check(entry.name, entry.parameter, grad);
            grad = grad.contiguous();
            auto [moments, update] = next_update(entry.name, entry.parameter, entry.weight_decay);
            if (entry.parameter.device().is_cpu())
                update_on_cpu(entry.parameter, grad, moments, update);
            else
                backend::cuda::multi_tensor_update<T, AdamWUpdate<T>>(
                    entry.parameter.device(),
                    {{entry.parameter.data(), moments.exp_avg.data(), moments.exp_avg_sq.data(), grad.data(),
                      entry.parameter.numel(), update}});
            entry.parameter.zero_grad();
        });
        loss.backward();
    }

    // Drops every gradient (PyTorch's zero_grad(set_to_none=True)): nothing is held between steps.
    void zero_grad() {
        for (auto& group : groups_)
            for (auto& [name, parameter] : group.parameters) parameter.zero_grad();
    }

    const std::map<std::string, Moments>& state() const { return state_; }
    // Restores moments saved from state() (a checkpoint); shapes must match the parameters.
    void load_state(std::map<std::string, Moments> state) {
        for (const auto& [name, moments] : state) {
            const Tensor<T>* parameter = find(name);
            if (!parameter)
                fail("AdamW: the saved optimizer state has moments for '", name,
                     "', which is not a parameter of this optimizer");
            if (moments.exp_avg.shape() != parameter->shape() || moments.exp_avg_sq.shape() != parameter->shape())
                fail("AdamW: saved moments of '", name, "' have shape ", moments.exp_avg.shape(), ", the parameter ",
                     parameter->shape());
        }
        state_ = std::move(state);
    }

private:
    const Tensor<T>* find(const std::string& wanted) const {
        for (const auto& group : groups_)
            for (const auto& [name, parameter] : group.parameters)
                if (name == wanted) return &parameter;
        return nullptr;
    }

    static void check(const std::string& name, const Tensor<T>& parameter, const Tensor<T>& grad) {
        if (grad.shape() != parameter.shape())
            fail("AdamW: the gradient of '", name, "' has shape ", grad.shape(), ", the parameter ", parameter.shape());
        if (!parameter.is_contiguous()) fail("AdamW: parameter '", name, "' is not contiguous");
        if (!parameter.device().is_cpu() && !backend::cuda::available)
            fail_without_cuda_backend("AdamW: parameter '", name, "' on ", parameter.device());
    }

    // The moments of one parameter, allocated at its first update and moved to its device if they
    // are elsewhere, with its step counted, and the update of that step.
    std::pair<Moments&, AdamWUpdate<T>> next_update(const std::string& name, const Tensor<T>& parameter,
                                                    double weight_decay) {
        Moments& moments = state_[name];
        if (!moments.exp_avg.defined()) {
            moments.exp_avg = Tensor<T>::zeros(parameter.shape(), parameter.device());
            moments.exp_avg_sq = Tensor<T>::zeros(parameter.shape(), parameter.device());
        } else if (moments.exp_avg.device() != parameter.device()) { // restored on the host, or the model moved
            moments.exp_avg = moments.exp_avg.to(parameter.device()).contiguous();
            moments.exp_avg_sq = moments.exp_avg_sq.to(parameter.device()).contiguous();
        }
        return {moments, update_of(moments, weight_decay)};
    }

    // Counts the step of one parameter and returns its update.
    AdamWUpdate<T> update_of(Moments& moments, double weight_decay) const {
        moments.step += 1;
        const double lr = options_.learning_rate, beta1 = options_.beta1, beta2 = options_.beta2;
        const double bias_correction1 = 1 - std::pow(beta1, double(moments.step));
        const double bias_correction2 = 1 - std::pow(beta2, double(moments.step));
        return {T(1 - lr * weight_decay),
                T(beta1),
                T(1 - beta1),
                T(beta2),
                T(1 - beta2),
                T(std::sqrt(bias_correction2)),
                T(options_.eps),
                T(-(lr / bias_correction1))};
    }

    // One pass over the four arrays; the same update on SIMD batches and on the scalar tail.
    static void update_on_cpu(const Tensor<T>& parameter, const Tensor<T>& grad, Moments& moments,
                              const AdamWUpdate<T>& update) {
        T* p = parameter.data();
        T* m = moments.exp_avg.data();
        T* v = moments.exp_avg_sq.data();
        const T* g = grad.data();
        using Batch = backend::cpu::Batch<T>;
        backend::parallel_for(parameter.numel(), backend::cpu::elementwise_grain,
                              [&](std::int64_t begin, std::int64_t end) {
                                  std::int64_t i = begin;
                                  for (; i + std::int64_t(Batch::size) <= end; i += Batch::size) {
                                      Batch pb = Batch::load_unaligned(p + i), mb = Batch::load_unaligned(m + i),
                                            vb = Batch::load_unaligned(v + i);
                                      update(pb, mb, vb, Batch::load_unaligned(g + i));
                                      pb.store_unaligned(p + i);
                                      mb.store_unaligned(m + i);
                                      vb.store_unaligned(v + i);
                                  }
                                  for (; i < end; ++i) update(p[i], m[i], v[i], g[i]);
                              });
    }

    std::vector<ParameterGroup<T>> groups_;
    AdamWOptions options_;
    std::map<std::string, Moments> state_;
};

} // namespace clipft::optim
