#pragma once
// CLIP (Radford et al., 2021): a ViT image tower and a causal text transformer mapped into one
// embedding space. Parameter names follow OpenAI's checkpoints.
#include <clipft/backends.hpp>
#include <clipft/models/clip_config.hpp>
#include <clipft/models/prompt_context.hpp>
#include <clipft/nn/layers.hpp>

#include <algorithm>

namespace clipft::inline CLIPFT_BACKENDS::models {

template <Floating T> struct VisionTransformer : nn::Module<T> {
    VisionConfig config;
    Tensor<T> class_embedding, positional_embedding, proj;
    struct PatchEmbedding : nn::Module<T> {
        Tensor<T> weight; // [width, 3, P, P], no bias
        PatchEmbedding(std::int64_t width, std::int64_t patch) {
            weight = this->register_parameter("weight", Tensor<T>::zeros({width, 3, patch, patch}));
        }
    } conv1;
    nn::LayerNorm<T> ln_pre;
    nn::Transformer<T> transformer;
    nn::LayerNorm<T> ln_post;

    VisionTransformer(const VisionConfig& c, std::int64_t embed_dim)
        : config(c), conv1(c.width, c.patch_size), ln_pre(c.width, c.layer_norm_eps),
          transformer(c.width, c.layers, c.heads, c.mlp_width, c.activation, c.layer_norm_eps),
          ln_post(c.width, c.layer_norm_eps) {
        this->register_module("conv1", conv1);
        class_embedding = this->register_parameter("class_embedding", Tensor<T>::zeros({c.width}));
        positional_embedding =
            this->register_parameter("positional_embedding", Tensor<T>::zeros({c.tokens(), c.width}));
        this->register_module("ln_pre", ln_pre);
        this->register_module("transformer", transformer);
        this->register_module("ln_post", ln_post);
        proj = this->register_parameter("proj", Tensor<T>::zeros({c.width, embed_dim}));
    }
    explicit VisionTransformer(const CLIPConfig& c) : VisionTransformer(c.vision, c.embed_dim) {}

    // The token sequence after the last block: [N, 1 + patches, width]. With `states`, also the
    // input of the first block and the output of each block.
    Tensor<T> hidden_states(const Tensor<T>& pixels, std::vector<Tensor<T>>* states = nullptr) const {
        return transformer(first_block_input(pixels), {}, states);
    }

    // Image embeddings [N, embed_dim] (not normalised), pooled at the class token: the last block
    // computes that token alone (Transformer::at_positions), the only one that reaches the output.
    Tensor<T> operator()(const Tensor<T>& pixels) const {
        Tensor<T> x = first_block_input(pixels);
        Tensor<std::int64_t> class_token = Tensor<std::int64_t>::zeros(Shape{x.size(0)}, x.device());
        return ops::matmul(ln_post(transformer.at_positions(x, class_token)), proj);
    }

    Tensor<T> first_block_input(const Tensor<T>& pixels) const {
        check_images(pixels);
        // Checkpointing the blocks checkpoints the embedding too: it keeps the pixels again as patch
        // rows and the sum before ln_pre, as much memory as five blocks' inputs.
        return transformer.checkpoint_activations
                   ? checkpointed(
                         "checkpointed patch embedding", [this](const Tensor<T>& p) { return embed(p); }, pixels,
                         embedding_parameters())
                   : embed(pixels);
    }

    // The first block's input: patches projected, the class token prepended, positions added, ln_pre.
    Tensor<T> embed(const Tensor<T>& pixels) const {
        std::int64_t n = pixels.size(0), width = config.width;
        Tensor<T> patches = ops::conv2d(pixels, conv1.weight, {}, config.patch_size) // [N, W, g, g]
                                .permute({0, 2, 3, 1})
                                .reshape({n, -1, width}); // [N, g*g, W]
        Tensor<T> cls = class_embedding.reshape({1, 1, width}).expand({n, 1, width});
        return ln_pre(ops::concat<T>({cls, patches}, 1) + positional_embedding);
    }
    // The parameters `embed` reads.
    std::vector<Tensor<T>> embedding_parameters() const {
        std::vector<Tensor<T>> parameters{conv1.weight, class_embedding, positional_embedding};
        for (const Tensor<T>& parameter : ln_pre.parameters()) parameters.push_back(parameter);
        return parameters;
    }

    void check_images(const Tensor<T>& pixels) const {
        std::int64_t r = config.image_size;
        if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != r || pixels.size(3) != r)
            fail("VisionTransformer: images must have shape [N, 3, ", r, ", ", r, "], got ", pixels.shape());
    }
};

template <Floating T> struct TextTransformer : nn::Module<T> {
    TextConfig config;
    nn::Embedding<T> token_embedding;
    Tensor<T> positional_embedding, text_projection, causal_mask;
    nn::Transformer<T> transformer;
    nn::LayerNorm<T> ln_final;
    std::shared_ptr<PromptContext<T>> prompt; // learned context after the start token (CoOp), or none

    TextTransformer(const TextConfig& c, std::int64_t embed_dim)
        : config(c), token_embedding(c.vocab_size, c.width),
          transformer(c.width, c.layers, c.heads, c.mlp_width, c.activation, c.layer_norm_eps),
          ln_final(c.width, c.layer_norm_eps) {
        this->register_module("token_embedding", token_embedding);
        positional_embedding =
            this->register_parameter("positional_embedding", Tensor<T>::zeros({c.context_length, c.width}));
        this->register_module("transformer", transformer);
        this->register_module("ln_final", ln_final);
        text_projection = this->register_parameter("text_projection", Tensor<T>::zeros({c.width, embed_dim}));
        causal_mask = this->register_buffer(ops::causal_mask<T>(c.context_length));
    }
    explicit TextTransformer(const CLIPConfig& c) : TextTransformer(c.text, c.embed_dim) {}

    // ln_final of every position: [B, L, width]. With `states`, also the embeddings and the output
    // of each block.
    Tensor<T> hidden_states(const Tensor<std::int64_t>& ids, std::vector<Tensor<T>>* states = nullptr) const {
        return ln_final(transformer(first_block_input(ids), causal_mask, states));
    }

    // Text embeddings [B, embed_dim] (not normalised), pooled at each row's first end-of-text token.
    // Under the causal mask no later position reaches those tokens, so the blocks run on the
    // positions up to the last of them, and the last block on those tokens alone.
    Tensor<T> operator()(const Tensor<std::int64_t>& ids) const {
        Tensor<std::int64_t> positions = end_of_text_positions(prompted_ids(ids));
        Tensor<std::int64_t> on_host = positions.to(Device::cpu());
        std::int64_t length = 1;
        for (std::int64_t b = 0; b < on_host.numel(); ++b) length = std::max(length, on_host.data()[b] + 1);
        Tensor<T> x = first_block_input(ids).narrow(1, 0, length);
        Tensor<T> mask = causal_mask.narrow(0, 0, length).narrow(1, 0, length);
        return ops::matmul(ln_final(transformer.at_positions(x, positions, mask)), text_projection);
    }

    Tensor<T> first_block_input(const Tensor<std::int64_t>& ids) const {
        if (ids.dim() != 2 || ids.size(1) != config.context_length)
            fail("TextTransformer: token ids must have shape [B, ", config.context_length, "], got ", ids.shape());
        Tensor<T> x = prompt ? prompt->insert(token_embedding(prompted_ids(ids)), ids) : token_embedding(ids);
        return x + positional_embedding;
    }

    // The ids as the transformer sees them: with room for the prompt context, if any.
    Tensor<std::int64_t> prompted_ids(const Tensor<std::int64_t>& ids) const {
        return prompt ? prompt->make_room(ids, config.end_of_text_id) : ids;
    }

    // Its parameter is then this tower's "prompt.context"; none removes the prompt.
    void set_prompt(std::shared_ptr<PromptContext<T>> replacement) {
        if (replacement && replacement->width() != config.width)
            fail("TextTransformer: a prompt context of width ", replacement->width(), " for a text tower of width ",
                 config.width);
        if (prompt) this->unregister_module(*prompt);
        prompt = std::move(replacement);
        if (prompt) this->register_module("prompt", *prompt);
    }

    Tensor<std::int64_t> end_of_text_positions(const Tensor<std::int64_t>& ids) const {
        // Found on the host, where ids on any device are copied: a few hundred values.
        Tensor<std::int64_t> dense = ids.to(Device::cpu()).contiguous(),
                             positions = Tensor<std::int64_t>::empty({ids.size(0)});
        std::int64_t length = ids.size(1);
        for (std::int64_t b = 0; b < ids.size(0); ++b) {
            const std::int64_t* row = dense.data() + b * length;
            const std::int64_t* end = std::find(row, row + length, config.end_of_text_id);
            if (end == row + length)
                fail("TextTransformer: row ", b, " of the token ids has no end-of-text token (", config.end_of_text_id,
                     "); tokenize with clipft::text::Tokenizer");
            positions.data()[b] = end - row;
        }
        return positions.to(ids.device());
    }
};

template <Floating T> struct CLIP : nn::Module<T> {
    CLIPConfig config;
    VisionTransformer<T> visual;
    TextTransformer<T> text;
    Tensor<T> logit_scale; // log of the softmax temperature's inverse

    explicit CLIP(const CLIPConfig& c)
        : config((c.validate(), c)), visual(c.vision, c.embed_dim), text(c.text, c.embed_dim) {
        this->register_module("visual", visual);
        this->register_module("", text); // OpenAI checkpoints keep the text tower at the top level
        logit_scale = this->register_parameter("logit_scale", Tensor<T>::scalar(T(std::log(1 / 0.07))));
    }

    Tensor<T> encode_image(const Tensor<T>& pixels) const { return visual(pixels); }
    Tensor<T> encode_text(const Tensor<std::int64_t>& ids) const { return text(ids); }

    // exp(logit_scale) * normalise(images) @ normalise(texts)^T: [N_images, N_texts].
    Tensor<T> logits(const Tensor<T>& image_embeds, const Tensor<T>& text_embeds) const {
        return ops::matmul(ops::l2_normalize(image_embeds), ops::l2_normalize(text_embeds).transpose(0, 1)) *
               ops::exp(logit_scale);
    }
};

} // namespace clipft::models
