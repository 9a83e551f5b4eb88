#pragma once
// The shape of a CLIP model: the OpenAI presets and any shape read from a checkpoint's config.
#include <clipft/backends.hpp>
#include <clipft/nn/layers.hpp>

#include <cstdint>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::models {

struct VisionConfig {
    std::int64_t image_size = 224, patch_size = 32, width = 768, layers = 12, heads = 12, mlp_width = 3072;
    nn::Activation activation = nn::Activation::quick_gelu;
    double layer_norm_eps = 1e-5;
    std::int64_t grid() const { return image_size / patch_size; }
    std::int64_t tokens() const { return grid() * grid() + 1; }
};

struct TextConfig {
    std::int64_t context_length = 77, vocab_size = 49408, width = 512, layers = 12, heads = 8, mlp_width = 2048;
    nn::Activation activation = nn::Activation::quick_gelu;
    double layer_norm_eps = 1e-5;
    std::int64_t end_of_text_id = 49407; // the pooled position is its first occurrence
};

struct CLIPConfig {
    std::int64_t embed_dim = 512;
    VisionConfig vision;
    TextConfig text;

    // OpenAI's released shapes: "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336" (also "B32",
    // "B16", "L14", "L14@336").
    static CLIPConfig preset(const std::string& name) {
        CLIPConfig config;
        std::string key = name.rfind("ViT-", 0) == 0 ? name.substr(4) : name;
        if (key == "B/32" || key == "B32") return config;
        if (key == "B/16" || key == "B16") {
            config.vision.patch_size = 16;
            return config;
        }
        if (key == "L/14" || key == "L14" || key == "L/14@336" || key == "L14@336") {
            config.embed_dim = 768;
            config.vision = {key.ends_with("@336") ? 336 : 224, 14, 1024, 24, 16, 4096};
            config.text.width = 768;
            config.text.heads = 12;
            config.text.mlp_width = 3072;
            return config;
        }
        fail("unknown CLIP preset '", name, "': choose ViT-B/32, ViT-B/16, ViT-L/14 or ViT-L/14@336");
    }

    void validate() const {
        auto at_least = [](const char* what, std::int64_t value, std::int64_t least) {
            if (value < least) fail("CLIP config: ", what, " must be at least ", least, ", got ", value);
        };
        auto check_transformer = [&](const std::string& tower, const auto& shape) { // the fields both towers share
            at_least((tower + ".width").c_str(), shape.width, 1);
            at_least((tower + ".layers").c_str(), shape.layers, 0);
            at_least((tower + ".heads").c_str(), shape.heads, 1);
            at_least((tower + ".mlp_width").c_str(), shape.mlp_width, 1);
        };
        at_least("embed_dim", embed_dim, 1);
        at_least("vision.image_size", vision.image_size, 1);
        at_least("vision.patch_size", vision.patch_size, 1);
        check_transformer("vision", vision);
        at_least("text.vocab_size", text.vocab_size, 1);
        at_least("text.context_length", text.context_length, 1);
        check_transformer("text", text);
        for (double eps : {vision.layer_norm_eps, text.layer_norm_eps})
            if (!(eps > 0 && eps < 1)) fail("CLIP config: layer_norm_eps must lie in (0, 1), got ", eps);
        if (vision.image_size % vision.patch_size != 0)
            fail("CLIP config: image size ", vision.image_size, " is not a multiple of the patch size ",
                 vision.patch_size);
        if (vision.width % vision.heads != 0 || text.width % text.heads != 0)
            fail("CLIP config: a tower's width is not divisible by its head count");
    }

    // The number of parameters of the model (OpenAI layout), saturating at UINT64_MAX: what a config
    // asks to allocate, checked against a checkpoint's size before a model is built from it.
    std::uint64_t parameter_count() const {
        // Never overflows, and exact below 2^53 parameters. Not long double: nvcc compiles the
        // (implicitly constexpr) lambda below for the device too, and warns that it has none.
        using Real = double;
        auto blocks = [](Real width, Real mlp, Real layers) {
            // ln_1, attention in/out projections with biases, ln_2, MLP with biases
            return layers * (2 * width + 3 * width * width + 3 * width + width * width + width + 2 * width +
                             2 * mlp * width + mlp + width);
        };
        const Real v = Real(vision.width), t = Real(text.width), e = Real(embed_dim), patch = Real(vision.patch_size);
        const Real grid = Real(vision.image_size / vision.patch_size);
        Real count = v * 3 * patch * patch + v + (grid * grid + 1) * v + 2 * v +
                     blocks(v, Real(vision.mlp_width), Real(vision.layers)) + 2 * v + v * e;
        count += Real(text.vocab_size) * t + Real(text.context_length) * t +
                 blocks(t, Real(text.mlp_width), Real(text.layers)) + 2 * t + t * e + 1;
        return count >= Real(UINT64_MAX) ? UINT64_MAX : std::uint64_t(count);
    }
};

} // namespace clipft::models
