#pragma once
// Adapters in the commands: the model of --model with the adapters of --adapter FILE (clipft
// finetune --method lora|svd) applied unmerged and the prompt context of --prompts FILE (--method
// prompt), for the commands that encode; the adapters'
// settings and the frozen base for the commands that train (finetune, bench).
#include "options.hpp"

#include <clipft/clip.hpp>

#include <algorithm>
#include <sstream>

namespace clipft::cli {

inline std::vector<std::string> split_names(const std::string& text) {
    std::vector<std::string> names;
    std::istringstream in(text);
    for (std::string name; std::getline(in, name, ',');)
        if (!name.empty()) names.push_back(name);
    return names;
}

// --method lora|svd: the adapters' settings from --targets, --towers, --rank, --lora-alpha, --lora-dropout.
inline models::AdapterOptions adapter_options_from(const Options& settings) {
    models::AdapterOptions adapters;
    try {
        adapters.method = models::parse_adapter_method(settings.text("method"));
        adapters.targets = nn::parse_adapter_targets(settings.text("targets"));
    } catch (const Error& error) {
        throw UsageError(error.what());
    }
    const std::vector<std::string> towers = split_names(settings.text("towers"));
    adapters.vision = std::find(towers.begin(), towers.end(), "vision") != towers.end();
    adapters.text = std::find(towers.begin(), towers.end(), "text") != towers.end();
    for (const std::string& tower : towers)
        if (tower != "vision" && tower != "text")
            throw UsageError("--towers: unknown tower '" + tower + "'; use vision, text or vision,text");
    if (!adapters.vision && !adapters.text) throw UsageError("--towers needs vision, text or vision,text");
    adapters.lora.rank = settings.integer("rank");
    if (adapters.lora.rank < 1) throw UsageError("--rank must be >= 1, got " + settings.text("rank"));
    if (settings.has("lora-alpha")) adapters.lora.alpha = settings.number("lora-alpha");
    adapters.lora.dropout = settings.number("lora-dropout");
    if (!(adapters.lora.dropout >= 0 && adapters.lora.dropout < 1))
        throw UsageError("--lora-dropout must be in [0, 1), got " + settings.text("lora-dropout"));
    return adapters;
}

// With an adapter method every base parameter is frozen but those --also-train names, in the freeze
// policy's words (layer-norm, logit-scale, last-blocks=K, joined with ',' or '+'), in the adapted towers.
inline void freeze_base(models::CLIP<float>& model, const std::string& also_train,
                        const models::AdapterOptions& adapters) {
    std::vector<train::FreezePolicy> policies;
    bool logit_scale = false;
    std::string words = also_train;
    std::replace(words.begin(), words.end(), '+', ',');
    for (const std::string& word : split_names(words)) {
        if (word == "logit-scale") {
            logit_scale = true;
            continue;
        }
        if (word != "layer-norm" && word.rfind("last-blocks=", 0) != 0)
            throw UsageError("--also-train: unknown word '" + word + "'; use layer-norm, logit-scale or last-blocks=K");
        try {
            policies.push_back(train::FreezePolicy::parse(word + "+freeze-scale"));
        } catch (const Error& error) {
            throw UsageError(std::string("--also-train: ") + error.what());
        }
        policies.back().train_vision = adapters.vision;
        policies.back().train_text = adapters.text;
    }
    for (auto& [name, parameter] : model.named_parameters()) {
        const std::int64_t layers =
            name.rfind("visual.", 0) == 0 ? model.config.vision.layers : model.config.text.layers;
        bool trains = name == "logit_scale" && logit_scale;
        for (const train::FreezePolicy& policy : policies) trains = trains || policy.trains(name, layers);
        parameter.zero_grad();
        parameter.requires_grad_(trains);
    }
}

inline std::unique_ptr<models::CLIP<float>> load_adapted_model(const Options& options) {
    auto model = models::load_clip<float>(options.text("model"));
    if (options.given("adapter")) models::apply_adapters(*model, options.text("adapter"));
    if (options.given("prompts")) {
        auto [prompt, hash] = models::load_prompts<float>(options.text("prompts"), model->config.text.width);
        if (!hash.empty() && hash != models::parameter_hash(*model))
            fail(options.text("prompts"),
                 ": the prompts were trained with another base model; pass the --model they were trained with");
        model->text.set_prompt(prompt);
    }
    return model;
}

} // namespace clipft::cli
