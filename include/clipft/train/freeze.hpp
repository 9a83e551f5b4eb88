#pragma once
// Which parameters a fine-tuning run trains (SPEC "Freeze policies"). A frozen parameter stops
// requiring gradients, so it receives none, the optimizer holds no moments for it, and a tower
// whose parameters are all frozen records no graph at all.
//
// Written as '+'-joined words, e.g. "reset-vision+freeze-text" (the thesis' Table 5):
//   full            train everything (the default)
//   freeze-text     the text tower is frozen
//   freeze-vision   the vision tower is frozen
//   reset-vision    the vision tower is re-initialised (OpenAI's initialisation) before training
//   layer-norm      only layer norms (and logit_scale) are trained
//   last-blocks=K   in each trained tower, only the last K residual blocks and what follows them
//   freeze-scale    logit_scale is frozen
//   none            nothing is trained (zero-shot)
#include <clipft/backends.hpp>
#include <clipft/models/initialize.hpp>

#include <sstream>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::train {

struct FreezePolicy {
    bool train_vision = true, train_text = true, train_logit_scale = true;
    bool reset_vision = false;
    bool layer_norms_only = false;
    std::int64_t last_blocks = -1; // -1: every block

    static FreezePolicy parse(const std::string& text) {
        FreezePolicy policy;
        std::istringstream words(text);
        std::string word;
        while (std::getline(words, word, '+')) {
            if (word == "full")
                continue;
            else if (word == "freeze-text")
                policy.train_text = false;
            else if (word == "freeze-vision")
                policy.train_vision = false;
            else if (word == "reset-vision")
                policy.reset_vision = true;
            else if (word == "layer-norm")
                policy.layer_norms_only = true;
            else if (word == "freeze-scale")
                policy.train_logit_scale = false;
            else if (word == "none")
                policy.train_vision = policy.train_text = policy.train_logit_scale = false;
            else if (word.rfind("last-blocks=", 0) == 0) {
                std::string count = word.substr(12);
                std::size_t used = 0;
                try {
                    policy.last_blocks = std::stoll(count, &used);
                } catch (const std::exception&) {
                    used = 0;
                }
                if (count.empty() || used != count.size() || policy.last_blocks < 0)
                    fail("freeze policy '", text, "': last-blocks needs a whole number >= 0, got '", count, "'");
            } else
                fail(
                    "freeze policy '", text, "': unknown word '", word,
                    "'; use full, freeze-text, freeze-vision, reset-vision, layer-norm, last-blocks=K, freeze-scale or "
                    "none, joined with '+'");
        }
        return policy;
    }

    // Whether the parameter called `name` (OpenAI naming) is trained; `layers` is its tower's block count.
    bool trains(const std::string& name, std::int64_t layers) const {
        if (name == "logit_scale") return train_logit_scale;
        bool vision = name.rfind("visual.", 0) == 0;
        if (!(vision ? train_vision : train_text)) return false;
        if (layer_norms_only) return name.find("ln_") != std::string::npos;
        if (last_blocks < 0) return true;
        std::size_t at = name.find("resblocks.");
        if (at != std::string::npos) return std::stoll(name.substr(at + 10)) >= layers - last_blocks;
        // Outside the blocks: what follows the last block is trained, the embeddings before the first are not.
        static const char* after_blocks[] = {"visual.ln_post.", "visual.proj", "ln_final.", "text_projection"};
        for (const char* prefix : after_blocks)
            if (name.rfind(prefix, 0) == 0) return true;
        return false;
    }
};

// Re-initialises and freezes `model` as `policy` says; call before building the optimizer.
template <Floating T>
void apply_freeze_policy(const FreezePolicy& policy, models::CLIP<T>& model, Generator& generator) {
    if (policy.reset_vision) models::initialize_vision_tower(model.visual, generator);
    for (auto& [name, parameter] : model.named_parameters()) {
        std::int64_t layers = name.rfind("visual.", 0) == 0 ? model.config.vision.layers : model.config.text.layers;
        parameter.zero_grad();
        parameter.requires_grad_(policy.trains(name, layers));
    }
}

} // namespace clipft::train
