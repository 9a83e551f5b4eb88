#pragma once
// Loading and saving CLIP checkpoints: OpenAI / open_clip names or HuggingFace CLIPModel names, in
// one .safetensors file or a HuggingFace-style directory (config.json + model.safetensors). F16 and
// BF16 weights are converted on load. Every unknown, missing or mis-shaped tensor is reported in
// one error.
#include <clipft/backends.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/json.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/models/checkpoint_names.hpp>
#include <clipft/models/clip.hpp>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

namespace clipft::inline CLIPFT_BACKENDS::models {

enum class CheckpointLayout { openai, huggingface };

// ---- configs -----------------------------------------------------------------------------------

namespace detail {

inline const io::Json& required(const io::Json& json, const char* key, const std::string& source) {
    if (!json.is_object() || !json.contains(key)) fail(source, ": the config has no '", key, "'");
    return json.at(key);
}

// OpenAI's MLP width, 4 x the tower width; a width read from a file may be too large for that.
inline std::int64_t four_times(std::int64_t width, const std::string& source) {
    if (width > INT64_MAX / 4) fail(source, ": a tower width of ", width, " is too large for a model");
    return 4 * width;
}

inline std::int64_t required_integer(const io::Json& json, const char* key, const std::string& source) {
    return io::json_integer(required(json, key, source), source + ": config value '" + key + "'");
}

inline std::int64_t integer_or(const io::Json& json, const char* key, std::int64_t fallback,
                               const std::string& source) {
    return json.contains(key) ? io::json_integer(json.at(key), source + ": config value '" + key + "'") : fallback;
}

template <typename Value> Value value_or(const io::Json& json, const char* key, Value fallback) {
    return json.contains(key) ? json.at(key).get<Value>() : fallback;
}

// Python's repr of a float (shortest round-trip digits, "1e-05" style), for config strings that
// match the reference writer's json.dumps byte for byte.
inline std::string python_float(double value) {
    char buffer[64];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    std::string text(buffer, end);
    if (text.find_first_of(".en") == std::string::npos) text += ".0";
    return text;
}

} // namespace detail

// A config in OpenAI's constructor arguments (openai_config.json, the "config" metadata key) or a
// HuggingFace CLIPConfig (config.json with text_config / vision_config).
inline CLIPConfig config_from_json(const io::Json& json, const std::string& source) {
    using detail::integer_or;
    using detail::required_integer;
    using detail::value_or;
    try {
        CLIPConfig config;
        if (json.contains("vision_config") && json.contains("text_config")) {
            const io::Json& vision = json.at("vision_config");
            const io::Json& text = json.at("text_config");
            auto read_transformer = [&](const io::Json& tower, auto& shape) { // the fields both towers share
                shape.width = required_integer(tower, "hidden_size", source);
                shape.layers = required_integer(tower, "num_hidden_layers", source);
                shape.heads = required_integer(tower, "num_attention_heads", source);
                shape.mlp_width = required_integer(tower, "intermediate_size", source);
                shape.activation = nn::activation_from_name(value_or<std::string>(tower, "hidden_act", "quick_gelu"));
                shape.layer_norm_eps = value_or(tower, "layer_norm_eps", 1e-5);
            };
            config.embed_dim = required_integer(json, "projection_dim", source);
            config.vision.image_size = required_integer(vision, "image_size", source);
            config.vision.patch_size = required_integer(vision, "patch_size", source);
            read_transformer(vision, config.vision);
            config.text.vocab_size = required_integer(text, "vocab_size", source);
            config.text.context_length = required_integer(text, "max_position_embeddings", source);
            read_transformer(text, config.text);
            // Published openai/clip-* configs carry the legacy eos id 2, meaning "pool at argmax",
            // which for CLIP-tokenized text is the first 49407 as well.
            std::int64_t eos = integer_or(text, "eos_token_id", 49407, source);
            config.text.end_of_text_id = eos == 2 ? 49407 : eos;
        } else {
            config.embed_dim = required_integer(json, "embed_dim", source);
            config.vision.image_size = required_integer(json, "image_resolution", source);
            config.vision.patch_size = required_integer(json, "vision_patch_size", source);
            config.vision.width = required_integer(json, "vision_width", source);
            config.vision.layers = required_integer(json, "vision_layers", source);
            config.vision.heads = integer_or(json, "vision_heads", config.vision.width / 64, source);
            config.vision.mlp_width = detail::four_times(config.vision.width, source);
            config.text.context_length = required_integer(json, "context_length", source);
            config.text.vocab_size = required_integer(json, "vocab_size", source);
            config.text.width = required_integer(json, "transformer_width", source);
            config.text.heads = required_integer(json, "transformer_heads", source);
            config.text.layers = required_integer(json, "transformer_layers", source);
            config.text.mlp_width = detail::four_times(config.text.width, source);
            nn::Activation activation =
                nn::activation_from_name(value_or<std::string>(json, "activation", "quick_gelu"));
            config.vision.activation = config.text.activation = activation;
            config.vision.layer_norm_eps = config.text.layer_norm_eps = value_or(json, "layer_norm_eps", 1e-5);
        }
        config.validate();
        return config;
    } catch (const io::Json::exception& error) {
        fail(source, ": config value of the wrong type: ", error.what());
    }
}

// The OpenAI-style config as Python's json.dumps(sort_keys=True) writes it.
inline std::string openai_config_string(const CLIPConfig& config) {
    std::ostringstream out;
    auto activation_name = [](nn::Activation activation) {
        switch (activation) {
        case nn::Activation::quick_gelu:
            return "quick_gelu";
        case nn::Activation::gelu:
            return "gelu";
        case nn::Activation::gelu_tanh:
            return "gelu_pytorch_tanh";
        }
        return "quick_gelu";
    };
    out << "{\"activation\": \"" << activation_name(config.text.activation)
        << "\", \"context_length\": " << config.text.context_length << ", \"embed_dim\": " << config.embed_dim
        << ", \"image_resolution\": " << config.vision.image_size
        << ", \"layer_norm_eps\": " << detail::python_float(config.text.layer_norm_eps)
        << ", \"transformer_heads\": " << config.text.heads << ", \"transformer_layers\": " << config.text.layers
        << ", \"transformer_width\": " << config.text.width << ", \"vision_architecture\": \"ViT\""
        << ", \"vision_heads\": " << config.vision.heads << ", \"vision_layers\": " << config.vision.layers
        << ", \"vision_patch_size\": " << config.vision.patch_size << ", \"vision_width\": " << config.vision.width
        << ", \"vocab_size\": " << config.text.vocab_size << "}";
    return out.str();
}

inline io::Json huggingface_config_json(const CLIPConfig& config) {
    auto activation_name = [](nn::Activation activation) {
        return activation == nn::Activation::quick_gelu ? "quick_gelu"
               : activation == nn::Activation::gelu     ? "gelu"
                                                        : "gelu_pytorch_tanh";
    };
    io::Json text = {{"model_type", "clip_text_model"},
                     {"vocab_size", config.text.vocab_size},
                     {"hidden_size", config.text.width},
                     {"intermediate_size", config.text.mlp_width},
                     {"projection_dim", config.embed_dim},
                     {"num_hidden_layers", config.text.layers},
                     {"num_attention_heads", config.text.heads},
                     {"max_position_embeddings", config.text.context_length},
                     {"hidden_act", activation_name(config.text.activation)},
                     {"layer_norm_eps", config.text.layer_norm_eps},
                     {"bos_token_id", 49406},
                     {"eos_token_id", config.text.end_of_text_id}};
    io::Json vision = {{"model_type", "clip_vision_model"},
                       {"hidden_size", config.vision.width},
                       {"intermediate_size", config.vision.mlp_width},
                       {"projection_dim", config.embed_dim},
                       {"num_hidden_layers", config.vision.layers},
                       {"num_attention_heads", config.vision.heads},
                       {"num_channels", 3},
                       {"image_size", config.vision.image_size},
                       {"patch_size", config.vision.patch_size},
                       {"hidden_act", activation_name(config.vision.activation)},
                       {"layer_norm_eps", config.vision.layer_norm_eps}};
    return {{"architectures", {"CLIPModel"}}, {"model_type", "clip"}, {"projection_dim", config.embed_dim},
            {"torch_dtype", "float32"},       {"text_config", text},  {"vision_config", vision}};
}

// ---- reading a checkpoint under OpenAI names -----------------------------------------------------

// A safetensors file read through OpenAI parameter names whatever its layout.
class CheckpointReader {
public:
    explicit CheckpointReader(io::SafetensorsFile file) : file_(std::move(file)) {
        for (const std::string& name : file_.names())
            if (name.rfind("vision_model.", 0) == 0 || name.rfind("text_model.", 0) == 0)
                layout_ = CheckpointLayout::huggingface;
    }

    CheckpointLayout layout() const { return layout_; }
    const io::SafetensorsFile& file() const { return file_; }

    bool contains(const std::string& name) const {
        for (const std::string& stored : sources(name).names)
            if (!file_.contains(stored)) return false;
        return true;
    }

    Shape shape(const std::string& name) const {
        HuggingFaceSource source = sources(name);
        Shape shape = file_.info(source.names[0]).shape;
        // Parts joined along their first dimension; {-1} (no tensor's shape) when they cannot be.
        for (std::size_t i = 1; i < source.names.size(); ++i) {
            const Shape& more = file_.info(source.names[i]).shape;
            if (shape.empty() || more.size() != shape.size() ||
                !std::equal(shape.begin() + 1, shape.end(), more.begin() + 1) ||
                __builtin_add_overflow(shape[0], more[0], &shape[0]))
                return {-1};
        }
        if (source.transposed && shape.size() == 2) std::swap(shape[0], shape[1]);
        return shape;
    }

    template <Floating T> Tensor<T> get(const std::string& name) const {
        HuggingFaceSource source = sources(name);
        std::vector<Tensor<T>> parts;
        for (const std::string& stored : source.names) parts.push_back(file_.get<T>(stored));
        Tensor<T> tensor = parts.size() == 1 ? parts[0] : ops::concat(parts, 0);
        return source.transposed ? tensor.transpose(0, 1) : tensor;
    }

    // The stored names that `names` (OpenAI names) read.
    std::set<std::string> stored_names(const std::vector<std::string>& names) const {
        std::set<std::string> used;
        for (const std::string& name : names)
            for (const std::string& stored : sources(name).names) used.insert(stored);
        return used;
    }

private:
    HuggingFaceSource sources(const std::string& name) const {
        return layout_ == CheckpointLayout::huggingface ? huggingface_source(name) : HuggingFaceSource{{name}};
    }

    io::SafetensorsFile file_;
    CheckpointLayout layout_ = CheckpointLayout::openai;
};

namespace detail {

inline std::int64_t count_layers(const CheckpointReader& reader, const std::string& prefix) {
    std::int64_t layers = 0;
    while (reader.contains(prefix + std::to_string(layers) + ".ln_1.weight")) ++layers;
    return layers;
}

} // namespace detail

// OpenAI's rules (clip.model.build_model) for a checkpoint without a config. Head counts are
// guessed as width / 64, which is what OpenAI's own models use; other models need a config.
inline CLIPConfig infer_config(const CheckpointReader& reader) {
    const std::string& path = reader.file().path().string();
    for (const char* name : {"visual.conv1.weight", "visual.positional_embedding", "text_projection",
                             "positional_embedding", "token_embedding.weight", "ln_final.weight"})
        if (!reader.contains(name))
            fail(path, ": no config found and the tensor for '", name,
                 "' is missing, so the model shape cannot be inferred");
    // Extent `dim` of a tensor that must have `rank` dimensions (a hostile file may give any shape).
    auto extent = [&](const char* name, std::size_t rank, std::size_t dim) {
        Shape shape = reader.shape(name);
        if (shape.size() != rank)
            fail(path, ": tensor '", name, "' has shape ", shape, "; a CLIP checkpoint has ", rank,
                 " dimensions there");
        return shape[dim];
    };
    CLIPConfig config;
    const std::int64_t grid =
        std::llround(std::sqrt(double(std::max<std::int64_t>(extent("visual.positional_embedding", 2, 0) - 1, 0))));
    config.vision.width = extent("visual.conv1.weight", 4, 0);
    config.vision.patch_size = extent("visual.conv1.weight", 4, 3);
    if (__builtin_mul_overflow(config.vision.patch_size, grid, &config.vision.image_size))
        fail(path, ": the patch size ", config.vision.patch_size, " and the ", grid, "x", grid,
             " patch grid of the shapes give no image size");
    config.vision.layers = detail::count_layers(reader, "visual.transformer.resblocks.");
    config.vision.heads = config.vision.width / 64;
    config.vision.mlp_width = config.vision.layers ? extent("visual.transformer.resblocks.0.mlp.c_fc.weight", 2, 0)
                                                   : detail::four_times(config.vision.width, path);
    config.embed_dim = extent("text_projection", 2, 1);
    config.text.context_length = extent("positional_embedding", 2, 0);
    config.text.vocab_size = extent("token_embedding.weight", 2, 0);
    config.text.width = extent("ln_final.weight", 1, 0);
    config.text.heads = config.text.width / 64;
    config.text.layers = detail::count_layers(reader, "transformer.resblocks.");
    config.text.mlp_width = config.text.layers ? extent("transformer.resblocks.0.mlp.c_fc.weight", 2, 0)
                                               : detail::four_times(config.text.width, path);
    config.validate();
    return config;
}

// A checkpoint located and read: its tensors and its model shape.
struct Checkpoint {
    CheckpointReader reader;
    CLIPConfig config;
};

namespace detail {

// A whole model's config is checked against the file before the model is built, so that a small
// file cannot make clipft allocate a huge model: at most twice the values the file holds (a
// checkpoint missing a few tensors still gets load_parameters' full report of what is missing).
inline void check_model_fits_file(const CLIPConfig& config, const io::SafetensorsFile& file) {
    const std::uint64_t parameters = config.parameter_count();
    std::uint64_t values = 0;
    for (const std::string& name : file.names()) values += std::uint64_t(file.info(name).numel());
    if (parameters / 2 > values)
        fail(file.path().string(), ": the config describes a model of ", parameters,
             " parameters, more than twice the ", values,
             " values the file holds; the config does not match the weights");
}

} // namespace detail

// `path`: a directory holding config.json and model.safetensors, or a .safetensors file whose
// config comes from its "config" metadata, else a config.json beside it, else its tensor shapes.
inline Checkpoint open_checkpoint(const std::filesystem::path& path, const io::Limits& limits = io::limits()) {
    namespace fs = std::filesystem;
    if (!fs::exists(path))
        fail(path.string(), ": no such file or directory (expected a .safetensors file or a model directory)");
    fs::path weights = path, config_file;
    if (fs::is_directory(path)) {
        weights = path / "model.safetensors";
        if (!fs::exists(weights))
            fail(path.string(), ": the directory has no model.safetensors (a HuggingFace checkout holds config.json "
                                "and model.safetensors)");
        config_file = path / "config.json";
    } else {
        config_file = path.parent_path() / "config.json";
    }
    CheckpointReader reader(io::load_safetensors(weights, limits));
    const io::Metadata& metadata = reader.file().metadata();
    CLIPConfig config;
    if (fs::is_regular_file(path) && metadata.contains("config")) {
        std::string source = weights.string() + " (metadata 'config')";
        config = config_from_json(io::parse_json(metadata.at("config"), source), source);
    } else if (fs::exists(config_file)) {
        config = config_from_json(io::read_json_file(config_file, limits), config_file.string());
    } else {
        config = infer_config(reader);
    }
    io::check_limit(config.parameter_count(), limits.max_model_parameters, "max_model_parameters",
                    weights.string() + ": the config describes a model whose parameter count");
    return {std::move(reader), config};
}

// Copies the checkpoint's tensors into `module`, whose parameter names plus `prefix` are OpenAI
// names. With `check_unknown`, tensors of the checkpoint that no parameter reads are errors too.
// NaN or infinite weights are refused, reported or let through as `non_finite` says.
template <Floating T>
void load_parameters(nn::Module<T>& module, const std::string& prefix, const CheckpointReader& reader,
                     bool check_unknown, io::NonFiniteWeights non_finite = io::limits().non_finite_weights) {
    std::vector<std::string> missing, misshaped, names;
    auto parameters = module.named_parameters();
    for (const auto& [name, parameter] : parameters) {
        std::string full = prefix + name;
        names.push_back(full);
        if (!reader.contains(full))
            missing.push_back(full);
        else if (reader.shape(full) != parameter.shape()) {
            std::ostringstream text;
            text << full << " (checkpoint " << reader.shape(full) << ", model " << parameter.shape() << ")";
            misshaped.push_back(text.str());
        }
    }
    std::vector<std::string> unknown;
    if (check_unknown) {
        std::set<std::string> used = reader.stored_names(names);
        for (const std::string& stored : reader.file().names())
            if (!used.contains(stored) && !is_huggingface_buffer(stored)) unknown.push_back(stored);
    }
    if (!missing.empty() || !misshaped.empty() || !unknown.empty()) {
        std::ostringstream message;
        message << reader.file().path().string() << ": the checkpoint does not fit the model";
        auto list = [&](const char* what, const std::vector<std::string>& items) {
            if (items.empty()) return;
            message << "; " << items.size() << " " << what << ":";
            for (std::size_t i = 0; i < items.size() && i < 10; ++i) message << (i ? ", " : " ") << items[i];
            if (items.size() > 10) message << ", ...";
        };
        list("missing", missing);
        list("mis-shaped", misshaped);
        list("unknown", unknown);
        message << ". Check that the config matches the weights.";
        throw Error(message.str());
    }
    NoGradGuard no_grad;
    for (const auto& [name, parameter] : parameters) {
        Tensor<T> stored = reader.get<T>(prefix + name).contiguous();
        if (non_finite != io::NonFiniteWeights::allow) {
            std::int64_t count = 0, first = -1;
            for (std::int64_t i = 0; i < stored.numel(); ++i)
                if (!std::isfinite(double(stored.data()[i])) && count++ == 0) first = i;
            io::check_finite_weights(count, first, non_finite,
                                     reader.file().path().string() + ": tensor '" + prefix + name + "'");
        }
        Tensor<T>(parameter).copy_(stored);
    }
}

template <Floating T = float>
std::unique_ptr<CLIP<T>> load_clip(const std::filesystem::path& path, const io::Limits& limits) {
    Checkpoint checkpoint = open_checkpoint(path, limits);
    detail::check_model_fits_file(checkpoint.config, checkpoint.reader.file());
    auto model = std::make_unique<CLIP<T>>(checkpoint.config);
    load_parameters(*model, "", checkpoint.reader, true, limits.non_finite_weights);
    return model;
}

// With io::limits(); an overload rather than a default argument, so that &load_clip<float> stays
// a loader taking a path.
template <Floating T = float> std::unique_ptr<CLIP<T>> load_clip(const std::filesystem::path& path) {
    return load_clip<T>(path, io::limits());
}

// One tower only, for vision-only or text-only use: the other tower is never allocated.
template <typename Tower>
std::unique_ptr<Tower> load_tower(const std::filesystem::path& path, const std::string& prefix) {
    Checkpoint checkpoint = open_checkpoint(path);
    auto tower = std::make_unique<Tower>(checkpoint.config);
    load_parameters(*tower, prefix, checkpoint.reader, false);
    return tower;
}

template <Floating T = float>
std::unique_ptr<VisionTransformer<T>> load_vision_tower(const std::filesystem::path& path) {
    return load_tower<VisionTransformer<T>>(path, "visual.");
}

template <Floating T = float> std::unique_ptr<TextTransformer<T>> load_text_tower(const std::filesystem::path& path) {
    return load_tower<TextTransformer<T>>(path, "");
}

// ---- saving ------------------------------------------------------------------------------------

// Appends a tensor known by its OpenAI parameter name under the name(s) `layout` stores it by
// (HuggingFace splits in_proj into q/k/v and transposes the projections), each prefixed with `prefix`.
inline void append_in_layout(io::NamedTensors& tensors, const std::string& prefix, const std::string& name,
                             const Tensor<float>& value, CheckpointLayout layout) {
    if (layout == CheckpointLayout::openai) {
        tensors.emplace_back(prefix + name, value);
        return;
    }
    HuggingFaceSource source = huggingface_source(name);
    Tensor<float> stored = source.transposed ? value.transpose(0, 1) : value;
    std::int64_t rows = stored.dim() ? stored.size(0) / std::int64_t(source.names.size()) : 0;
    for (std::size_t i = 0; i < source.names.size(); ++i)
        tensors.emplace_back(prefix + source.names[i],
                             source.names.size() == 1 ? stored : stored.narrow(0, std::int64_t(i) * rows, rows));
}

// The model's tensors under the names of `layout`, with the metadata the reference writers use.
template <Floating T>
io::NamedTensors checkpoint_tensors(const CLIP<T>& model, CheckpointLayout layout, io::Metadata& metadata) {
    io::NamedTensors tensors;
    metadata = {{"format", "pt"}};
    if (layout == CheckpointLayout::openai) {
        metadata["naming"] = "openai";
        metadata["config"] = openai_config_string(model.config);
    } else {
        metadata["naming"] = "transformers CLIPModel";
    }
    for (const auto& [name, parameter] : model.named_parameters())
        append_in_layout(tensors, "", name, parameter.template to<float>(), layout);
    if (layout == CheckpointLayout::huggingface) {
        tensors.emplace_back("text_model.embeddings.position_ids",
                             Tensor<std::int64_t>::arange(model.config.text.context_length).reshape({1, -1}));
        tensors.emplace_back("vision_model.embeddings.position_ids",
                             Tensor<std::int64_t>::arange(model.config.vision.tokens()).reshape({1, -1}));
    }
    return tensors;
}

// Writes a .safetensors file (path ending in .safetensors) or a directory with config.json and
// model.safetensors, in either layout. Files are replaced atomically.
template <Floating T> void save_clip(const CLIP<T>& model, const std::filesystem::path& path, CheckpointLayout layout) {
    io::Metadata metadata;
    io::NamedTensors tensors = checkpoint_tensors(model, layout, metadata);
    if (path.extension() == ".safetensors") return io::save_safetensors(path, tensors, metadata);
    std::filesystem::create_directories(path);
    std::string config = layout == CheckpointLayout::huggingface ? huggingface_config_json(model.config).dump(1) + "\n"
                                                                 : openai_config_string(model.config) + "\n";
    io::write_file_atomically(path / "config.json", [&](io::FileWriter& writer) { writer.write(config); });
    io::save_safetensors(path / "model.safetensors", tensors, metadata);
}

} // namespace clipft::models
