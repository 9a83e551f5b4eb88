#pragma once
// The shape of a CLIP model: the OpenAI presets and any shape read from a checkpoint's config.
#include <clipft/nn/layers.hpp>

#include <string>

namespace clipft::models {

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
        auto positive = [](const char* what, std::int64_t value) {
            if (value < 1) fail("CLIP config: ", what, " must be at least 1, got ", value);
        };
        positive("embed_dim", embed_dim);
        positive("vision.patch_size", vision.patch_size);
        positive("vision.width", vision.width);
        positive("vision.heads", vision.heads);
        positive("text.width", text.width);
        positive("text.heads", text.heads);
        positive("text.context_length", text.context_length);
        if (vision.image_size % vision.patch_size != 0)
            fail("CLIP config: image size ", vision.image_size, " is not a multiple of the patch size ", vision.patch_size);
        if (vision.width % vision.heads != 0 || text.width % text.heads != 0)
            fail("CLIP config: a tower's width is not divisible by its head count");
    }
};

} // namespace clipft::models
