#pragma once
// The two collectives of data-parallel training: every rank starts from rank 0's parameters, and
// before each optimizer step every rank replaces its gradients by their mean over the ranks, so that
// the identical optimizer step on every rank keeps the replicas identical.
//
// Gradients travel in buckets of about `bucket_bytes` (PyTorch DDP's default, 25 MiB): one collective
// per tensor would pay the latency of each of the ~400 tensors of a CLIP model, one collective for the
// whole model would need a second copy of every gradient. Buckets are filled from the last parameter
// to the first, the order in which backward produces them. The buckets are reduced after backward
// has finished: clipft's autograd has no hook that says when one parameter's gradient is final, so the
// overlap with backward that DDP gets on GPUs is not done here.
#include <clipft/backends.hpp>
#include <clipft/distributed/communicator.hpp>
#include <clipft/tensor.hpp>

#include <algorithm>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::distributed {

inline constexpr std::size_t default_bucket_bytes = std::size_t(25) << 20;

// Replaces the parameters on every rank by root's.
template <Floating T>
void broadcast_parameters(Communicator& communicator, const std::vector<Tensor<T>>& parameters, int root = 0) {
    if (communicator.size() == 1) return;
    NoGradGuard no_grad;
    for (const Tensor<T>& parameter : parameters) {
        if (!parameter.is_contiguous())
            fail("broadcast_parameters: a parameter of shape ", parameter.shape(), " is not contiguous");
        Tensor<T> values = parameter.to(Device::cpu()); // the parameter itself on the CPU, a copy from a GPU
        communicator.broadcast_values(std::span<T>(values.data(), std::size_t(values.numel())), root);
        if (!parameter.device().is_cpu()) Tensor<T>(parameter).copy_(values);
    }
}

template <Floating T> class GradientAverager {
public:
    explicit GradientAverager(std::vector<Tensor<T>> parameters, std::size_t bucket_bytes = default_bucket_bytes)
        : parameters_(std::move(parameters)), bucket_elements_(std::max<std::size_t>(1, bucket_bytes / sizeof(T))) {}

    // Every parameter's gradient becomes its mean over the ranks. A parameter without a gradient on
    // this rank contributes zeros (and then holds the mean of the others'), so that every rank takes
    // part in the same collectives and ends with the same gradients.
    void average(Communicator& communicator) {
        if (communicator.size() == 1) return;
        bucket_.reserve(bucket_elements_);
        std::vector<Tensor<T>> members;
        for (auto parameter = parameters_.rbegin(); parameter != parameters_.rend(); ++parameter) {
            if (!parameter->grad().defined())
                parameter->accumulate_grad(Tensor<T>::zeros(parameter->shape(), parameter->device()));
            Tensor<T> gradient = parameter->grad();
            if (!members.empty() && bucket_.size() + std::size_t(gradient.numel()) > bucket_elements_)
                flush(communicator, members);
            Tensor<T> values = gradient.to(Device::cpu()); // GPU gradients go through the host
            bucket_.insert(bucket_.end(), values.data(), values.data() + values.numel());
            members.push_back(gradient);
        }
        flush(communicator, members);
    }

private:
    // All-reduces the bucket and copies each mean back into its gradient (held contiguous by
    // Tensor::accumulate_grad, written in place).
    void flush(Communicator& communicator, std::vector<Tensor<T>>& members) {
        communicator.all_reduce_average(std::span<T>(bucket_));
        const T* mean = bucket_.data();
        for (Tensor<T>& gradient : members) {
            if (gradient.device().is_cpu())
                std::copy_n(mean, gradient.numel(), gradient.data());
            else
                gradient.copy_(Tensor<T>::from_vector(std::vector<T>(mean, mean + gradient.numel()), gradient.shape()));
            mean += gradient.numel();
        }
        bucket_.clear();
        members.clear();
    }

    std::vector<Tensor<T>> parameters_;
    std::size_t bucket_elements_;
    std::vector<T> bucket_;
};

} // namespace clipft::distributed
