#pragma once
// Limits on what clipft reads from files that others made (checkpoints from model hubs, images from
// the wild, manifests, vocabularies, configs), so that no input file can make it allocate more than
// these say. Every reader takes a Limits, by default io::limits(): the defaults below, changed by
// the environment variable CLIPFT_LIMITS (e.g. CLIPFT_LIMITS=max_image_pixels=400000000,
// non_finite_weights=warn) or by a program assigning to io::limits() before reading. The defaults
// admit the real inputs with a wide margin: a ViT-L/14 checkpoint is 1.7 GB in F32 with a largest
// tensor of 152 MB, CLIP's vocabulary 1.4 MB compressed, a 24-megapixel photo 24 million pixels.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

namespace clipft::inline CLIPFT_BACKENDS::io {

// What reading model weights does with NaN or infinite values: refuse the file (the default: such
// weights make every output NaN), warn on stderr and load them, or load them silently.
enum class NonFiniteWeights { refuse, warn, allow };

struct Limits {
    std::uint64_t max_safetensors_file_bytes = std::uint64_t(64) << 30;
    std::uint64_t max_safetensors_header_bytes = 100'000'000;
    std::uint64_t max_tensors = 1'000'000;
    std::uint64_t max_tensor_bytes = std::uint64_t(8) << 30; // one tensor as read (F16 doubles in F32)
    std::uint64_t max_model_parameters =
        5'000'000'000; // a model a config or checkpoint describes (ViT-bigG: 2.5 billion)
    std::uint64_t max_image_file_bytes = std::uint64_t(1) << 30;
    std::uint64_t max_image_pixels = 100'000'000; // checked from the header, before decoding
    std::uint64_t max_image_side = 65'535;
    std::uint64_t max_vocabulary_bytes = std::uint64_t(256) << 20; // a vocabulary file, or a .gz decompressed
    std::uint64_t max_vocabulary_tokens = 1'000'000;               // the ids of a vocab.json lie below it
    std::uint64_t max_json_bytes = std::uint64_t(256) << 20;
    std::uint64_t max_csv_bytes = std::uint64_t(2) << 30;
    std::uint64_t max_csv_rows = 10'000'000;
    std::uint64_t max_csv_columns = 10'000;
    std::uint64_t max_csv_field_bytes = std::uint64_t(1) << 20;
    NonFiniteWeights non_finite_weights = NonFiniteWeights::refuse;

    // The defaults with CLIPFT_LIMITS applied (name=value pairs separated by commas).
    static Limits from_environment() {
        Limits limits;
        if (const char* text = std::getenv("CLIPFT_LIMITS")) limits.apply(text, "CLIPFT_LIMITS");
        return limits;
    }

    // Applies "name=value,name=value"; `source` names the text in errors.
    void apply(std::string_view settings, std::string_view source) {
        while (!settings.empty()) {
            std::string_view setting = settings.substr(0, settings.find(','));
            settings.remove_prefix(std::min(settings.size(), setting.size() + 1));
            std::size_t equals = setting.find('=');
            if (equals == std::string_view::npos)
                fail(source, ": '", setting, "' is not name=value (limits: ", names(), ")");
            std::string_view name = setting.substr(0, equals), value = setting.substr(equals + 1);
            if (name == "non_finite_weights") {
                if (value == "refuse")
                    non_finite_weights = NonFiniteWeights::refuse;
                else if (value == "warn")
                    non_finite_weights = NonFiniteWeights::warn;
                else if (value == "allow")
                    non_finite_weights = NonFiniteWeights::allow;
                else
                    fail(source, ": non_finite_weights is refuse, warn or allow, not '", value, "'");
                continue;
            }
            std::uint64_t* limit = find(name);
            if (!limit) fail(source, ": no limit named '", name, "' (limits: ", names(), ")");
            auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), *limit);
            if (error != std::errc() || end != value.data() + value.size())
                fail(source, ": the value of ", name, " must be a whole number of bytes or items, not '", value, "'");
        }
    }

private:
    template <typename Visit> auto visit_limits(Visit&& visit) {
        return visit(std::initializer_list<std::pair<std::string_view, std::uint64_t*>>{
            {"max_safetensors_file_bytes", &max_safetensors_file_bytes},
            {"max_safetensors_header_bytes", &max_safetensors_header_bytes},
            {"max_tensors", &max_tensors},
            {"max_tensor_bytes", &max_tensor_bytes},
            {"max_model_parameters", &max_model_parameters},
            {"max_image_file_bytes", &max_image_file_bytes},
            {"max_image_pixels", &max_image_pixels},
            {"max_image_side", &max_image_side},
            {"max_vocabulary_bytes", &max_vocabulary_bytes},
            {"max_vocabulary_tokens", &max_vocabulary_tokens},
            {"max_json_bytes", &max_json_bytes},
            {"max_csv_bytes", &max_csv_bytes},
            {"max_csv_rows", &max_csv_rows},
            {"max_csv_columns", &max_csv_columns},
            {"max_csv_field_bytes", &max_csv_field_bytes},
        });
    }
    std::uint64_t* find(std::string_view wanted) {
        return visit_limits([&](auto table) -> std::uint64_t* {
            for (const auto& [name, limit] : table)
                if (name == wanted) return limit;
            return nullptr;
        });
    }
    std::string names() {
        return visit_limits([](auto table) {
            std::string text;
            for (const auto& [name, limit] : table) text += std::string(name) + ", ";
            return text + "non_finite_weights";
        });
    }
};

// The limits readers use by default; assign to it to change them for the whole program.
inline Limits& limits() {
    static Limits current = Limits::from_environment();
    return current;
}

// The end of a message about an exceeded limit: how to raise it.
inline std::string how_to_raise(std::string_view limit_name) {
    return "; if the file is trusted, raise it with CLIPFT_LIMITS=" + std::string(limit_name) +
           "=N (or clipft::io::limits())";
}

// Fails when `value` exceeds `limit`: "<what> <value> exceeds the limit max_x = <limit>; ..."; `what`
// starts with the file at fault.
inline void check_limit(std::uint64_t value, std::uint64_t limit, std::string_view limit_name,
                        const std::string& what) {
    if (value > limit)
        fail(what, " ", value, " exceeds the limit ", limit_name, " = ", limit, how_to_raise(limit_name));
}

// Reports non-finite weights as `policy` says; `what` names the file and tensor.
inline void check_finite_weights(std::int64_t non_finite, std::int64_t first, NonFiniteWeights policy,
                                 const std::string& what) {
    if (non_finite == 0 || policy == NonFiniteWeights::allow) return;
    std::string message = what + ": " + std::to_string(non_finite) +
                          " NaN or infinite value(s), the first at element " + std::to_string(first);
    if (policy == NonFiniteWeights::refuse)
        fail(message, "; the weights are corrupt (to load them anyway: CLIPFT_LIMITS=non_finite_weights=warn)");
    std::cerr << "clipft: warning: " << message << "\n";
}

} // namespace clipft::io
