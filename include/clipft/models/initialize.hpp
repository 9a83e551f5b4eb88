#pragma once
// Fresh weights for CLIP's towers, drawn the way OpenAI's clip.model.CLIP constructor draws them,
// so that "re-initialise the vision tower" means what it meant in the thesis' experiments, and
// every vision parameter really is reset (the thesis' own code missed some).
//
// Vision tower (VisionTransformer.__init__; OpenAI's initialize_parameters leaves a ViT alone):
//   conv1, out_proj, c_fc, c_proj weights: PyTorch's default kaiming_uniform(a = sqrt 5),
//     i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); c_fc and c_proj biases: the same bound;
//   in_proj_weight: xavier_uniform, U(-sqrt(6 / (W + 3W)), +same); in_proj_bias, out_proj.bias: 0;
//   class_embedding, positional_embedding, proj: W^-0.5 * N(0, 1); layer norms: weight 1, bias 0.
// Text tower (initialize_parameters): token embedding N(0, 0.02), positional embedding N(0, 0.01),
//   in_proj_weight N(0, W^-0.5), out_proj and c_proj weights N(0, W^-0.5 (2 layers)^-0.5),
//   c_fc weight N(0, (2W)^-0.5), text_projection N(0, W^-0.5); biases as in the vision tower.
// logit_scale: log(1 / 0.07).
#include <clipft/backends.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/random.hpp>

#include <cmath>

namespace clipft::inline CLIPFT_BACKENDS::models {

namespace detail {

template <Floating T> void uniform_bound_(Tensor<T> tensor, Generator& generator, double bound) {
    uniform_(tensor, generator, -bound, bound);
}

template <Floating T> void reset_layer_norm(nn::LayerNorm<T>& norm) {
    norm.weight.fill_(T(1));
    norm.bias.fill_(T(0));
}

// A linear layer's default PyTorch initialisation: weight and bias U(+-1/sqrt(fan_in)).
template <Floating T> void reset_linear_default(nn::Linear<T>& layer, Generator& generator) {
    double bound = 1.0 / std::sqrt(double(layer.weight.size(1)));
    uniform_bound_(layer.weight, generator, bound);
    uniform_bound_(layer.bias, generator, bound);
}

// The parts every block shares: layer norms at identity, attention biases at zero, MLP biases at
// PyTorch's default.
template <Floating T> void reset_block_common(nn::ResidualAttentionBlock<T>& block, Generator& generator) {
    reset_layer_norm(block.ln_1);
    reset_layer_norm(block.ln_2);
    block.attn.in_proj_bias.fill_(T(0));
    block.attn.out_proj.bias.fill_(T(0));
    uniform_bound_(block.mlp.c_fc.bias, generator, 1.0 / std::sqrt(double(block.mlp.c_fc.weight.size(1))));
    uniform_bound_(block.mlp.c_proj.bias, generator, 1.0 / std::sqrt(double(block.mlp.c_proj.weight.size(1))));
}

} // namespace detail

template <Floating T> void initialize_vision_tower(VisionTransformer<T>& visual, Generator& generator) {
    NoGradGuard no_grad;
    const double width = double(visual.config.width), scale = 1.0 / std::sqrt(width);
    const Shape& patch = visual.conv1.weight.shape();
    detail::uniform_bound_(visual.conv1.weight, generator, 1.0 / std::sqrt(double(patch[1] * patch[2] * patch[3])));
    normal_(visual.class_embedding, generator, 0.0, scale);
    normal_(visual.positional_embedding, generator, 0.0, scale);
    detail::reset_layer_norm(visual.ln_pre);
    for (auto& block : visual.transformer.resblocks) {
        detail::reset_block_common(*block, generator);
        detail::uniform_bound_(block->attn.in_proj_weight, generator, std::sqrt(6.0 / (width + 3 * width)));
        detail::uniform_bound_(block->attn.out_proj.weight, generator, scale);
        detail::uniform_bound_(block->mlp.c_fc.weight, generator, scale);
        detail::uniform_bound_(block->mlp.c_proj.weight, generator,
                               1.0 / std::sqrt(double(block->mlp.c_proj.weight.size(1))));
    }
    detail::reset_layer_norm(visual.ln_post);
    normal_(visual.proj, generator, 0.0, scale);
}

template <Floating T> void initialize_text_tower(TextTransformer<T>& text, Generator& generator) {
    NoGradGuard no_grad;
    const double width = double(text.config.width), layers = double(text.config.layers);
    const double attention_std = 1.0 / std::sqrt(width), projection_std = attention_std / std::sqrt(2 * layers),
                 mlp_std = 1.0 / std::sqrt(2 * width);
    normal_(text.token_embedding.weight, generator, 0.0, 0.02);
    normal_(text.positional_embedding, generator, 0.0, 0.01);
    for (auto& block : text.transformer.resblocks) {
        detail::reset_block_common(*block, generator);
        normal_(block->attn.in_proj_weight, generator, 0.0, attention_std);
        normal_(block->attn.out_proj.weight, generator, 0.0, projection_std);
        normal_(block->mlp.c_fc.weight, generator, 0.0, mlp_std);
        normal_(block->mlp.c_proj.weight, generator, 0.0, projection_std);
    }
    detail::reset_layer_norm(text.ln_final);
    normal_(text.text_projection, generator, 0.0, attention_std);
}

template <Floating T> void initialize_clip(CLIP<T>& model, Generator& generator) {
    initialize_vision_tower(model.visual, generator);
    initialize_text_tower(model.text, generator);
    NoGradGuard no_grad;
    model.logit_scale.fill_(T(std::log(1 / 0.07)));
}

} // namespace clipft::models
