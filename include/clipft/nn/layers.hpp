#pragma once
// The building blocks of CLIP's towers, each a Module whose parameter names match OpenAI's
// checkpoints. Parameters start at zero (layer norms at one); checkpoints or initialisers fill them.
#include <clipft/backends.hpp>
#include <clipft/nn/adapters/weight_adapter.hpp>
#include <clipft/nn/module.hpp>
#include <clipft/ops.hpp>

#include <array>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::nn {

enum class Activation { quick_gelu, gelu, gelu_tanh };

inline Activation activation_from_name(const std::string& name) {
    if (name == "quick_gelu") return Activation::quick_gelu;
    if (name == "gelu") return Activation::gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_tanh") return Activation::gelu_tanh;
    fail("unknown activation '", name, "': expected quick_gelu, gelu, gelu_new or gelu_pytorch_tanh");
}

// apply(functor) with the element-wise functor (ops/elementwise.hpp) of `activation`.
template <typename Apply> auto with_activation_function(Activation activation, Apply&& apply) {
    switch (activation) {
    case Activation::quick_gelu:
        return apply(ops::functions::QuickGelu{});
    case Activation::gelu:
        return apply(ops::functions::Gelu{});
    case Activation::gelu_tanh:
        return apply(ops::functions::GeluTanh{});
    }
    fail("activate: unknown activation");
}

template <Floating T> Tensor<T> activate(const Tensor<T>& x, Activation activation) {
    return with_activation_function(activation, [&](auto function) { return ops::elementwise(x, function); });
}

template <Floating T>
void check_adapter_fits(const AdapterHandle<T>& adapter, std::int64_t out_features, std::int64_t in_features) {
    if (adapter && (adapter->out_features != out_features || adapter->in_features != in_features))
        fail("adapter for a weight [", adapter->out_features, ", ", adapter->in_features,
             "] given to a layer whose weight is [", out_features, ", ", in_features, "]");
}

template <Floating T> struct Linear : Module<T> {
    Tensor<T> weight, bias;   // weight [out, in]; bias [out] or undefined
    AdapterHandle<T> adapter; // a trainable change of weight (nn/adapters/), or none

    Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias = true) {
        weight = this->register_parameter("weight", Tensor<T>::zeros({out_features, in_features}));
        if (with_bias) bias = this->register_parameter("bias", Tensor<T>::zeros({out_features}));
    }
    Tensor<T> operator()(const Tensor<T>& x) const {
        Tensor<T> y = ops::linear(x, weight, bias);
        return adapter ? y + adapter->output_change(x) : y;
    }
    // activate(this(x), activation), the activation fused into the product (ops::linear_activation)
    // unless an adapter's change comes between them.
    Tensor<T> operator()(const Tensor<T>& x, Activation activation) const {
        if (adapter) return activate((*this)(x), activation);
        return with_activation_function(
            activation, [&](auto function) { return ops::linear_activation(x, weight, bias, function); });
    }

    // Its parameters are then this layer's, under "adapter."; none removes the adapter.
    void set_adapter(AdapterHandle<T> replacement) {
        check_adapter_fits(replacement, weight.size(0), weight.size(1));
        if (adapter) this->unregister_module(*adapter);
        adapter = std::move(replacement);
        if (adapter) this->register_module("adapter", *adapter);
    }
};

template <Floating T> struct LayerNorm : Module<T> {
    Tensor<T> weight, bias;
    double eps;

    explicit LayerNorm(std::int64_t width, double eps_ = 1e-5) : eps(eps_) {
        weight = this->register_parameter("weight", Tensor<T>::ones({width}));
        bias = this->register_parameter("bias", Tensor<T>::zeros({width}));
    }
    Tensor<T> operator()(const Tensor<T>& x) const { return ops::layer_norm(x, weight, bias, eps); }
};

template <Floating T> struct Embedding : Module<T> {
    Tensor<T> weight; // [vocabulary, width]

    Embedding(std::int64_t vocabulary, std::int64_t width) {
        weight = this->register_parameter("weight", Tensor<T>::zeros({vocabulary, width}));
    }
    Tensor<T> operator()(const Tensor<std::int64_t>& ids) const { return ops::embedding(ids, weight); }
};

// Multi-head self-attention with one fused q/k/v projection (rows q, k, v of in_proj_weight).
template <Floating T> struct MultiheadAttention : Module<T> {
    std::int64_t width, heads;
    Tensor<T> in_proj_weight, in_proj_bias; // [3W, W], [3W]
    Linear<T> out_proj;
    // Trainable changes of the q, k and v rows of in_proj_weight (nn/adapters/), each optional.
    std::array<AdapterHandle<T>, 3> projection_adapters;

    MultiheadAttention(std::int64_t width_, std::int64_t heads_)
        : width(width_), heads(heads_), out_proj(width_, width_) {
        if (heads < 1 || width % heads != 0)
            fail("MultiheadAttention: width ", width, " is not divisible into ", heads, " heads");
        in_proj_weight = this->register_parameter("in_proj_weight", Tensor<T>::zeros({3 * width, width}));
        in_proj_bias = this->register_parameter("in_proj_bias", Tensor<T>::zeros({3 * width}));
        this->register_module("out_proj", out_proj);
    }

    // x [B, L, W]; mask additive, broadcastable to [L, L], or undefined. With `positions` ([B], one
    // per sequence) the output at those positions only, [B, 1, W]: their queries against every key.
    Tensor<T> operator()(const Tensor<T>& x, const Tensor<T>& mask = {},
                         const Tensor<std::int64_t>& positions = {}) const {
        std::int64_t batch = x.size(0), length = x.size(1), queries = positions.defined() ? 1 : length;
        Tensor<T> qkv = ops::linear(x, in_proj_weight, in_proj_bias)
                            .reshape({batch, length, 3, heads, width / heads})
                            .permute({2, 0, 3, 1, 4}); // [3, B, H, L, W/H]
        std::array<Tensor<T>, 3> projected;
        for (std::int64_t i = 0; i < 3; ++i) {
            projected[i] = qkv.select(0, i);
            if (projection_adapters[i])
                projected[i] = projected[i] + projection_adapters[i]
                                                  ->output_change(x)
                                                  .reshape({batch, length, heads, width / heads})
                                                  .permute({0, 2, 1, 3});
        }
        Tensor<T> query = projected[0], query_mask = mask;
        if (positions.defined()) {
            query = ops::select_positions(query.transpose(1, 2).reshape({batch, length, width}), positions)
                        .reshape({batch, 1, heads, width / heads})
                        .transpose(1, 2);
            if (mask.defined()) query_mask = mask_rows(mask, positions, length);
        }
        Tensor<T> heads_out = ops::scaled_dot_product_attention(query, projected[1], projected[2], query_mask);
        return out_proj(heads_out.transpose(1, 2).reshape({batch, queries, width}));
    }

    // The adapter of projection 0 (q), 1 (k) or 2 (v), registered as "q_adapter", ...; none removes it.
    void set_projection_adapter(std::int64_t projection, AdapterHandle<T> replacement) {
        static const char* names[] = {"q_adapter", "k_adapter", "v_adapter"};
        if (projection < 0 || projection > 2)
            fail("MultiheadAttention: projection ", projection, " is not 0 (q), 1 (k) or 2 (v)");
        check_adapter_fits(replacement, width, width);
        AdapterHandle<T>& slot = projection_adapters[std::size_t(projection)];
        if (slot) this->unregister_module(*slot);
        slot = std::move(replacement);
        if (slot) this->register_module(names[projection], *slot);
    }

private:
    // The rows of an [L, L] mask that the queries at `positions` see: [B, 1, 1, L].
    static Tensor<T> mask_rows(const Tensor<T>& mask, const Tensor<std::int64_t>& positions, std::int64_t length) {
        if (mask.dim() != 2 || mask.size(0) != length || mask.size(1) != length)
            fail("MultiheadAttention: attending from one position per sequence takes an [L, L] mask, here [", length,
                 ", ", length, "]; got ", mask.shape());
        return ops::index_select(mask, 0, positions).reshape({positions.numel(), 1, 1, length});
    }
};

template <Floating T> struct MLP : Module<T> {
    Linear<T> c_fc, c_proj;
    Activation activation;

    MLP(std::int64_t width, std::int64_t hidden, Activation activation_)
        : c_fc(width, hidden), c_proj(hidden, width), activation(activation_) {
        this->register_module("c_fc", c_fc);
        this->register_module("c_proj", c_proj);
    }
    Tensor<T> operator()(const Tensor<T>& x) const { return c_proj(c_fc(x, activation)); }
};

// Pre-LayerNorm residual block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
template <Floating T> struct ResidualAttentionBlock : Module<T> {
    LayerNorm<T> ln_1;
    MultiheadAttention<T> attn;
    LayerNorm<T> ln_2;
    MLP<T> mlp;

    ResidualAttentionBlock(std::int64_t width, std::int64_t heads, std::int64_t mlp_width, Activation activation,
                           double eps)
        : ln_1(width, eps), attn(width, heads), ln_2(width, eps), mlp(width, mlp_width, activation) {
        this->register_module("ln_1", ln_1);
        this->register_module("attn", attn);
        this->register_module("ln_2", ln_2);
        this->register_module("mlp", mlp);
    }
    // With `positions` ([B]), the block's output at one position per sequence only: [B, 1, W].
    Tensor<T> operator()(const Tensor<T>& x, const Tensor<T>& mask = {},
                         const Tensor<std::int64_t>& positions = {}) const {
        Tensor<T> residual = positions.defined() ? ops::select_positions(x, positions).unsqueeze(1) : x;
        Tensor<T> h = residual + attn(ln_1(x), mask, positions);
        return h + mlp(ln_2(h));
    }
};

template <Floating T> struct Transformer : Module<T> {
    std::vector<std::unique_ptr<ResidualAttentionBlock<T>>> resblocks;
    // Keep only each block's input for the backward pass and compute the block again there
    // (autograd.hpp, checkpointed): far less memory for one more forward pass of the blocks.
    bool checkpoint_activations = false;

    Transformer(std::int64_t width, std::int64_t layers, std::int64_t heads, std::int64_t mlp_width,
                Activation activation, double eps) {
        for (std::int64_t i = 0; i < layers; ++i) {
            resblocks.push_back(std::make_unique<ResidualAttentionBlock<T>>(width, heads, mlp_width, activation, eps));
            this->register_module("resblocks." + std::to_string(i), *resblocks.back());
        }
    }
    // With `states`, appends the input and every block's output (HuggingFace's hidden_states).
    Tensor<T> operator()(Tensor<T> x, const Tensor<T>& mask = {}, std::vector<Tensor<T>>* states = nullptr) const {
        if (states) states->push_back(x);
        for (const auto& block : resblocks) {
            x = run(*block, x, mask, {});
            if (states) states->push_back(x);
        }
        return x;
    }

    // The output at one position per sequence ([B, W]; positions [B]), what CLIP's pooling reads:
    // select_positions(operator()(x, mask), positions), but the last block computes its queries,
    // attention output and MLP only there (in a 12-block tower, most of a twelfth of its work saved).
    Tensor<T> at_positions(Tensor<T> x, const Tensor<std::int64_t>& positions, const Tensor<T>& mask = {}) const {
        if (resblocks.empty()) return ops::select_positions(x, positions);
        for (std::size_t i = 0; i + 1 < resblocks.size(); ++i) x = run(*resblocks[i], x, mask, {});
        return run(*resblocks.back(), x, mask, positions).squeeze(1);
    }

private:
    Tensor<T> run(const ResidualAttentionBlock<T>& block, const Tensor<T>& x, const Tensor<T>& mask,
                  const Tensor<std::int64_t>& positions) const {
        auto apply = [&block, mask, positions](const Tensor<T>& input) { return block(input, mask, positions); };
        return checkpoint_activations ? checkpointed("checkpointed block", apply, x, block.parameters()) : apply(x);
    }
};

} // namespace clipft::nn
