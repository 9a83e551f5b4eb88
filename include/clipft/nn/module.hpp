#pragma once
// Module: a named tree of parameters. Parameter names join the path of sub-module names with dots,
// exactly as PyTorch state dicts do, so "visual.transformer.resblocks.0.attn.in_proj_weight" names
// the same tensor here and in a checkpoint. Modules own their parameters as Tensor handles; the
// registry holds the same handles, so loading, freezing or re-initialising through the registry
// acts on the module's own tensors.
#include <clipft/backends.hpp>
#include <clipft/random.hpp>
#include <clipft/tensor.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::nn {

template <Floating T> class Module {
public:
    Module() = default;
    // Sub-modules are registered by address: a module never moves.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    virtual ~Module() = default;

    // Every parameter with its dotted name, in registration order (the order of the layers).
    std::vector<std::pair<std::string, Tensor<T>>> named_parameters() const {
        std::vector<std::pair<std::string, Tensor<T>>> result;
        collect("", result);
        return result;
    }

    std::vector<Tensor<T>> parameters() const {
        std::vector<Tensor<T>> result;
        for (auto& [name, tensor] : named_parameters()) result.push_back(tensor);
        return result;
    }

    Tensor<T> parameter(const std::string& name) const {
        for (auto& [candidate, tensor] : named_parameters())
            if (candidate == name) return tensor;
        fail("Module: no parameter named '", name, "' (the module has ", named_parameters().size(), " parameters)");
    }

    // Every random stream of the tree (LoRA's dropout masks) with its dotted name, so that a
    // training checkpoint holds their states and a resumed run draws what the uninterrupted one would.
    std::vector<std::pair<std::string, Generator*>> named_generators() const {
        std::vector<std::pair<std::string, Generator*>> result;
        collect_generators("", result);
        return result;
    }

    std::int64_t parameter_count() const {
        std::int64_t count = 0;
        for (auto& [name, tensor] : named_parameters()) count += tensor.numel();
        return count;
    }

    void zero_grad() {
        for (auto& [name, tensor] : named_parameters()) tensor.zero_grad();
    }

    void requires_grad_(bool enabled = true) {
        for (auto& [name, tensor] : named_parameters()) tensor.requires_grad_(enabled);
    }

    // Moves every parameter (with its gradient) and buffer to `device` in place, so that the
    // module's own members follow: after model.to(Device::cuda(0)) the model computes there, and
    // its inputs must be moved there too (ids.to(device), pixels.to(device)).
    void to(Device device) {
        for (auto& [name, tensor] : named_parameters()) tensor.move_to_(device);
        std::vector<Tensor<T>> buffers;
        collect_buffers(buffers);
        for (auto& tensor : buffers) tensor.move_to_(device);
    }

    // Where the module computes: the device of its parameters (the CPU for a module without any).
    Device device() const {
        auto parameters = named_parameters();
        return parameters.empty() ? Device::cpu() : parameters.front().second.device();
    }

protected:
    // Registers a parameter (it requires gradients from now on) and returns its handle.
    Tensor<T> register_parameter(const std::string& name, Tensor<T> tensor) {
        tensor.requires_grad_();
        parameters_.push_back({name, tensor});
        return tensor;
    }

    // Registers a tensor the module computes with but neither trains nor saves (a causal mask), so
    // that to(device) moves it with the parameters; returns its handle.
    Tensor<T> register_buffer(Tensor<T> tensor) {
        buffers_.push_back(tensor);
        return tensor;
    }

    // Registers a member random stream under `name` (the module draws from it while it trains).
    void register_generator(const std::string& name, Generator& generator) {
        generators_.push_back({name, &generator});
    }

    // Registers a member sub-module under `name`; an empty name merges its parameters into this
    // module's namespace (CLIP's text tower lives at the top level of OpenAI checkpoints).
    template <typename Child> Child& register_module(const std::string& name, Child& child) {
        children_.push_back({name, &child});
        return child;
    }

    // Removes a sub-module registered by register_module (an adapter merged into its layer).
    void unregister_module(const Module& child) {
        std::erase_if(children_, [&](const auto& entry) { return entry.second == &child; });
    }

private:
    void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor<T>>>& out) const {
        for (auto& [name, tensor] : parameters_) out.push_back({prefix + name, tensor});
        for (auto& [name, child] : children_) child->collect(name.empty() ? prefix : prefix + name + ".", out);
    }
    void collect_generators(const std::string& prefix, std::vector<std::pair<std::string, Generator*>>& out) const {
        for (auto& [name, generator] : generators_) out.push_back({prefix + name, generator});
        for (auto& [name, child] : children_)
            child->collect_generators(name.empty() ? prefix : prefix + name + ".", out);
    }
    void collect_buffers(std::vector<Tensor<T>>& out) const {
        out.insert(out.end(), buffers_.begin(), buffers_.end());
        for (auto& [name, child] : children_) child->collect_buffers(out);
    }

    std::vector<std::pair<std::string, Tensor<T>>> parameters_;
    std::vector<Tensor<T>> buffers_;
    std::vector<std::pair<std::string, Generator*>> generators_;
    std::vector<std::pair<std::string, const Module*>> children_;
};

} // namespace clipft::nn
