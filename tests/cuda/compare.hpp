#pragma once
// Runs one computation on the CPU and on the first CUDA device from the same inputs and compares
// the outputs and every input's gradient: the CPU results are the reference of the CUDA tests.
#include "../assertions.hpp"

#include <clipft/ops.hpp>

#include <functional>
#include <random>
#include <vector>

namespace clipft::testing {

inline const Device gpu = Device::cuda(0);

template <Floating T> Tensor<T> uniform(const Shape& shape, unsigned seed, double low = -1.0, double high = 1.0) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> distribution(low, high);
    Tensor<T> t = Tensor<T>::empty(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(distribution(engine));
    return t;
}

struct Tolerance {
    double relative = 1e-4, absolute = 1e-5;
};

// f applied to leaves made from `inputs` on `device`; backward with a fixed random upstream gradient.
template <Floating T>
std::pair<Tensor<T>, std::vector<Tensor<T>>> run_on(Device device, const std::vector<Tensor<T>>& inputs,
                                                    const std::function<Tensor<T>(const std::vector<Tensor<T>>&)>& f) {
    std::vector<Tensor<T>> leaves;
    for (const Tensor<T>& input : inputs) {
        Tensor<T> leaf = input.detach().to(device).contiguous();
        if (leaf.shares_storage_with(input)) leaf = leaf.clone().detach(); // never the caller's own tensor
        leaf.requires_grad_();
        leaves.push_back(leaf);
    }
    Tensor<T> out = f(leaves);
    out.backward(uniform<T>(out.shape(), 99).to(device));
    std::vector<Tensor<T>> grads;
    for (const Tensor<T>& leaf : leaves) grads.push_back(leaf.grad());
    return {out, grads};
}

// The CUDA results of f match the CPU's within `tolerance`, forward and backward.
template <Floating T>
void compare_with_cpu(const std::vector<Tensor<T>>& inputs,
                      const std::function<Tensor<T>(const std::vector<Tensor<T>>&)>& f, Tolerance tolerance = {}) {
    auto [cpu_out, cpu_grads] = run_on(Device::cpu(), inputs, f);
    auto [gpu_out, gpu_grads] = run_on(gpu, inputs, f);
    CHECK(gpu_out.device() == gpu);
    CHECK(excess(gpu_out, cpu_out, tolerance.relative) <= tolerance.absolute);
    REQUIRE(gpu_grads.size() == cpu_grads.size());
    for (std::size_t i = 0; i < cpu_grads.size(); ++i) {
        CAPTURE(i);
        REQUIRE(cpu_grads[i].defined() == gpu_grads[i].defined());
        if (cpu_grads[i].defined()) CHECK(excess(gpu_grads[i], cpu_grads[i], tolerance.relative) <= tolerance.absolute);
    }
}

} // namespace clipft::testing
