#pragma once
// Where each parameter of clipft's CLIP (OpenAI names) is stored in a HuggingFace CLIPModel
// checkpoint: usually one renamed tensor; in_proj_* are HF's q, k and v projections stacked by rows;
// the two projections are HF Linear weights, i.e. transposed.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <string>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::models {

struct HuggingFaceSource {
    std::vector<std::string> names; // several: concatenated along the first axis
    bool transposed = false;
};

namespace detail {

inline bool starts_with_then(const std::string& name, const std::string& prefix, std::string& rest) {
    if (name.rfind(prefix, 0) != 0) return false;
    rest = name.substr(prefix.size());
    return true;
}

// A block's parameter, relative to the block: "ln_1.weight" -> "layer_norm1.weight", ...
inline HuggingFaceSource huggingface_block_source(const std::string& layer_prefix, const std::string& rest) {
    static const std::vector<std::pair<std::string, std::string>> renames = {{"ln_1.", "layer_norm1."},
                                                                             {"ln_2.", "layer_norm2."},
                                                                             {"attn.out_proj.", "self_attn.out_proj."},
                                                                             {"mlp.c_fc.", "mlp.fc1."},
                                                                             {"mlp.c_proj.", "mlp.fc2."}};
    for (const auto& [openai, huggingface] : renames) {
        std::string leaf;
        if (starts_with_then(rest, openai, leaf)) return {{layer_prefix + huggingface + leaf}};
    }
    if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
        std::string leaf = rest == "attn.in_proj_weight" ? "weight" : "bias";
        return {{layer_prefix + "self_attn.q_proj." + leaf, layer_prefix + "self_attn.k_proj." + leaf,
                 layer_prefix + "self_attn.v_proj." + leaf}};
    }
    fail("no HuggingFace name for the block parameter '", rest, "'");
}

} // namespace detail

inline HuggingFaceSource huggingface_source(const std::string& openai_name) {
    static const std::vector<std::pair<std::string, std::string>> renames = {
        {"logit_scale", "logit_scale"},
        {"token_embedding.weight", "text_model.embeddings.token_embedding.weight"},
        {"positional_embedding", "text_model.embeddings.position_embedding.weight"},
        {"ln_final.weight", "text_model.final_layer_norm.weight"},
        {"ln_final.bias", "text_model.final_layer_norm.bias"},
        {"visual.class_embedding", "vision_model.embeddings.class_embedding"},
        {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"},
        {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"},
        {"visual.ln_pre.weight", "vision_model.pre_layrnorm.weight"}, // sic: HF's spelling
        {"visual.ln_pre.bias", "vision_model.pre_layrnorm.bias"},
        {"visual.ln_post.weight", "vision_model.post_layernorm.weight"},
        {"visual.ln_post.bias", "vision_model.post_layernorm.bias"}};
    for (const auto& [openai, huggingface] : renames)
        if (openai_name == openai) return {{huggingface}};
    if (openai_name == "text_projection") return {{"text_projection.weight"}, true};
    if (openai_name == "visual.proj") return {{"visual_projection.weight"}, true};
    for (auto [openai_prefix, huggingface_prefix] :
         {std::pair<std::string, std::string>{"visual.transformer.resblocks.", "vision_model.encoder.layers."},
          {"transformer.resblocks.", "text_model.encoder.layers."}}) {
        std::string rest;
        if (!detail::starts_with_then(openai_name, openai_prefix, rest)) continue;
        std::size_t dot = rest.find('.');
        if (dot == std::string::npos) break;
        return detail::huggingface_block_source(huggingface_prefix + rest.substr(0, dot + 1), rest.substr(dot + 1));
    }
    fail("no HuggingFace name for the CLIP parameter '", openai_name, "'");
}

// Buffers that HuggingFace checkpoints may carry besides the parameters (arange position ids).
inline bool is_huggingface_buffer(const std::string& name) {
    return name == "text_model.embeddings.position_ids" || name == "vision_model.embeddings.position_ids";
}

} // namespace clipft::models
