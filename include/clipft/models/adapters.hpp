#pragma once
// Parameter-efficient fine-tuning of CLIP: LoRA or SVD-residual adapters (nn/adapters/) on chosen
// linear layers of every block of chosen towers, the adapter file, and merging.
//
// The adapter file (safetensors) holds, under the HuggingFace name of each adapted weight,
//   <name>.lora_A [R, in], <name>.lora_B [out, R]                       (method "lora")
//   <name>.svd_U [out, R], <name>.svd_S [R], <name>.svd_V [R, in]        (method "svd")
// e.g. "vision_model.encoder.layers.0.self_attn.q_proj.weight.lora_A", and the metadata method,
// rank, lora_alpha, lora_dropout, targets, towers and base_model_hash (parameter_hash of the base
// model the factors were trained on). An SVD residual's frozen part is decomposed again from the
// base weights when the file is applied.
#include <clipft/backends.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/models/checkpoint_names.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/nn/adapters/adapter_targets.hpp>
#include <clipft/nn/adapters/lora.hpp>
#include <clipft/nn/adapters/svd_residual.hpp>

#include <cstring>
#include <iomanip>
#include <sstream>

namespace clipft::inline CLIPFT_BACKENDS::models {

enum class AdapterMethod { lora, svd };

inline AdapterMethod parse_adapter_method(const std::string& name) {
    if (name == "lora") return AdapterMethod::lora;
    if (name == "svd") return AdapterMethod::svd;
    fail("unknown adapter method '", name, "': expected lora or svd");
}
inline const char* adapter_method_name(AdapterMethod method) { return method == AdapterMethod::lora ? "lora" : "svd"; }

struct AdapterOptions {
    AdapterMethod method = AdapterMethod::lora;
    std::vector<nn::AdapterTarget> targets = {nn::AdapterTarget::q, nn::AdapterTarget::v};
    bool vision = true, text = true;  // the towers whose blocks get adapters
    nn::LoRAOptions lora;             // lora.rank is the rank of either method
    bool svd_principal_basis = false; // svd: keep each weight's frozen principal vectors, for svd_residual_penalty
};

// An adapter site of a CLIP model, named as in OpenAI's and HuggingFace's checkpoints.
template <Floating T> struct ClipAdapterSite : nn::AdapterSite<T> {
    std::string openai_name = {};      // "visual.transformer.resblocks.0.attn.in_proj_weight"
    std::string huggingface_name = {}; // "vision_model.encoder.layers.0.self_attn.q_proj.weight"
};

// The sites of `targets` in every block of the chosen towers, vision first, blocks in order.
template <Floating T>
std::vector<ClipAdapterSite<T>> adapter_sites(CLIP<T>& model, const std::vector<nn::AdapterTarget>& targets,
                                              bool vision = true, bool text = true) {
    std::vector<ClipAdapterSite<T>> sites;
    auto add_tower = [&](nn::Transformer<T>& transformer, const std::string& prefix) {
        for (std::size_t b = 0; b < transformer.resblocks.size(); ++b)
            for (nn::AdapterTarget target : targets) {
                ClipAdapterSite<T> site{nn::adapter_site(*transformer.resblocks[b], target)};
                site.openai_name = prefix + std::to_string(b) + "." + site.weight_name;
                site.huggingface_name = huggingface_source(site.openai_name).names.at(std::size_t(site.projection));
                sites.push_back(std::move(site));
            }
    };
    if (vision) add_tower(model.visual.transformer, "visual.transformer.resblocks.");
    if (text) add_tower(model.text.transformer, "transformer.resblocks.");
    return sites;
}

// Every site of the model that holds an adapter.
template <Floating T> std::vector<ClipAdapterSite<T>> attached_adapter_sites(CLIP<T>& model) {
    std::vector<ClipAdapterSite<T>> attached;
    for (auto& site : adapter_sites(model, {nn::AdapterTarget::q, nn::AdapterTarget::k, nn::AdapterTarget::v,
                                            nn::AdapterTarget::out, nn::AdapterTarget::fc1, nn::AdapterTarget::fc2}))
        if (site.adapter()) attached.push_back(std::move(site));
    return attached;
}

template <Floating T>
nn::AdapterHandle<T> make_adapter(const AdapterOptions& options, const Tensor<T>& weight, Generator& generator) {
    if (options.method == AdapterMethod::lora)
        return std::make_shared<nn::LoRA<T>>(weight.size(1), weight.size(0), options.lora, generator);
    return std::make_shared<nn::SVDResidual<T>>(weight, options.lora.rank, options.svd_principal_basis);
}

// Gives every site of `options` a fresh adapter (LoRA's A drawn from `generator`). The base
// weights are left as they are, frozen or not: freeze them first (adapters train by default).
template <Floating T> void attach_adapters(CLIP<T>& model, const AdapterOptions& options, Generator& generator) {
    if (!options.vision && !options.text) fail("attach_adapters: no tower chosen; adapt vision, text or both");
    for (auto& site : adapter_sites(model, options.targets, options.vision, options.text)) {
        if (site.adapter())
            fail("attach_adapters: ", site.openai_name, " (", nn::target_name(site.target), ") already has an adapter");
        site.set_adapter(make_adapter(options, site.weight, generator));
    }
}

// Folds every adapter into its weight and removes it: the model becomes a plain CLIP.
template <Floating T> void merge_adapters(CLIP<T>& model) {
    for (auto& site : attached_adapter_sites(model)) nn::merge_adapter(site);
}

// Effort's regularisers summed over the model's SVD-residual adapters: Σ L_orth + L_ksv (see
// nn/adapters/svd_residual.hpp), each of its base weight as it is now. The adapters must have kept
// their principal basis (AdapterOptions::svd_principal_basis).
template <Floating T> Tensor<T> svd_residual_penalty(CLIP<T>& model) {
    Tensor<T> total;
    for (auto& site : attached_adapter_sites(model)) {
        auto residual = std::dynamic_pointer_cast<nn::SVDResidual<T>>(site.adapter());
        if (!residual) continue;
        Tensor<T> penalty = residual->orthogonality_penalty() + residual->singular_value_penalty(site.weight);
        total = total.defined() ? total + penalty : penalty;
    }
    if (!total.defined())
        fail("svd_residual_penalty: the model has no SVD-residual adapter; attach adapters of method svd first");
    return total;
}

// The number of parameter values that receive gradients.
template <Floating T> std::int64_t trainable_parameter_count(const nn::Module<T>& module) {
    std::int64_t count = 0;
    for (const auto& [name, parameter] : module.named_parameters())
        if (parameter.requires_grad()) count += parameter.numel();
    return count;
}

// A fingerprint of a model's parameters (names, shapes and float32 values; FNV-1a, 64 bits, in hex),
// the same for a checkpoint in either layout. Adapters' and prompts' parameters are left out.
template <Floating T> std::string parameter_hash(const nn::Module<T>& module) {
    std::uint64_t hash = 14695981039346656037ull;
    auto mix = [&](const void* data, std::size_t bytes) {
        const unsigned char* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
    };
    NoGradGuard no_grad;
    for (const auto& [name, parameter] : module.named_parameters()) {
        if (name.find("adapter.") != std::string::npos || name.rfind("prompt.", 0) == 0) continue;
        mix(name.data(), name.size());
        for (std::int64_t extent : parameter.shape()) mix(&extent, sizeof extent);
        Tensor<float> values = parameter.template to<float>().to(Device::cpu()).contiguous();
        mix(values.data(), std::size_t(values.numel()) * sizeof(float));
    }
    std::ostringstream text;
    text << std::hex << std::setw(16) << std::setfill('0') << hash;
    return text.str();
}

inline std::string adapter_tower_names(const AdapterOptions& options) {
    return options.vision && options.text ? "vision,text" : options.vision ? "vision" : "text";
}

// Writes the adapters of `model` (attached with `options`) to an adapter file.
template <Floating T>
void save_adapters(CLIP<T>& model, const AdapterOptions& options, const std::string& base_model_hash,
                   const std::filesystem::path& path) {
    io::NamedTensors tensors;
    for (auto& site : attached_adapter_sites(model))
        for (const auto& [name, parameter] : site.adapter()->named_parameters())
            tensors.emplace_back(site.huggingface_name + "." + name, parameter.template to<float>().to(Device::cpu()));
    if (tensors.empty()) fail("save_adapters: the model has no adapter to save (", path.string(), ")");
    std::ostringstream alpha;
    alpha << std::setprecision(17) << options.lora.alpha_or_default();
    std::ostringstream dropout;
    dropout << std::setprecision(17) << options.lora.dropout;
    io::save_safetensors(path, tensors,
                         {{"format", "pt"},
                          {"method", adapter_method_name(options.method)},
                          {"rank", std::to_string(options.lora.rank)},
                          {"lora_alpha", alpha.str()},
                          {"lora_dropout", dropout.str()},
                          {"targets", nn::join_target_names(options.targets)},
                          {"towers", adapter_tower_names(options)},
                          {"base_model_hash", base_model_hash}});
}

// Reads an adapter file's settings (metadata), with errors that name the file.
inline AdapterOptions read_adapter_options(const io::SafetensorsFile& file) {
    const std::string where = file.path().string();
    auto text = [&](const char* key) {
        if (!file.metadata().contains(key))
            fail(where, ": not an adapter file (no metadata '", key,
                 "'); pass the adapter.safetensors of clipft finetune --method lora|svd");
        return file.metadata().at(key);
    };
    AdapterOptions options;
    try {
        options.method = parse_adapter_method(text("method"));
        options.targets = nn::parse_adapter_targets(text("targets"));
        std::size_t used = 0;
        const std::string rank = text("rank"), alpha = text("lora_alpha");
        options.lora.rank = std::stoll(rank, &used);
        if (used != rank.size() || options.lora.rank < 1) fail("rank '", rank, "' is not a whole number >= 1");
        options.lora.alpha = std::stod(alpha, &used);
        if (used != alpha.size()) fail("lora_alpha '", alpha, "' is not a number");
        const std::string towers = text("towers");
        options.vision = towers.find("vision") != std::string::npos;
        options.text = towers.find("text") != std::string::npos;
    } catch (const std::logic_error&) {
        fail(where, ": the adapter metadata holds a malformed number");
    } catch (const Error& error) {
        fail(where, ": ", error.what());
    }
    return options;
}

// Attaches the adapters of an adapter file to `model` (its base weights unchanged) and loads their
// factors; the model then computes as the merged checkpoint does. Refuses a file trained on other
// base weights.
template <Floating T> AdapterOptions apply_adapters(CLIP<T>& model, const std::filesystem::path& path) {
    io::SafetensorsFile file = io::load_safetensors(path);
    AdapterOptions options = read_adapter_options(file);
    const std::string expected =
        file.metadata().contains("base_model_hash") ? file.metadata().at("base_model_hash") : "";
    if (!expected.empty() && expected != parameter_hash(model))
        fail(path.string(), ": the adapter was trained on another base model (hash ", expected, ", this model ",
             parameter_hash(model), "); pass the --model it was fine-tuned from");
    Generator unused;
    attach_adapters(model, options, unused);
    std::size_t expected_tensors = 0;
    NoGradGuard no_grad;
    for (auto& site : attached_adapter_sites(model))
        for (auto& [name, parameter] : site.adapter()->named_parameters()) {
            const std::string stored = site.huggingface_name + "." + name;
            if (!file.contains(stored))
                fail(path.string(), ": no tensor '", stored, "' (the metadata names target ",
                     nn::target_name(site.target), ")");
            Tensor<float> values = file.get<float>(stored);
            if (values.shape() != parameter.shape())
                fail(path.string(), ": tensor '", stored, "' has shape ", values.shape(), ", the model's adapter ",
                     parameter.shape());
            Tensor<T>(parameter).copy_(values.template to<T>());
            ++expected_tensors;
        }
    if (expected_tensors != file.names().size())
        fail(path.string(), ": holds ", file.names().size(), " tensors, the adapters of its metadata read ",
             expected_tensors, "; is it an adapter file of this model?");
    return options;
}

} // namespace clipft::models
