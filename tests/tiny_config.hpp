#pragma once
// The smallest CLIP worth building: one layer and one head per tower, 4x4 images, a vocabulary of
// 8 tokens. For tests and fuzzers that need a model of their own rather than a reference one.
#include <clipft/models/clip_config.hpp>

namespace clipft::testing {

inline models::CLIPConfig tiny_config() {
    models::CLIPConfig config;
    config.embed_dim = 4;
    config.vision = {.image_size = 4, .patch_size = 2, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text = {.context_length = 4, .vocab_size = 8, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text.end_of_text_id = 7;
    return config;
}

} // namespace clipft::testing
