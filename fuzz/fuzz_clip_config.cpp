// CLIP configs as JSON (OpenAI's constructor arguments or a HuggingFace config.json): parsing, the
// model built from an accepted config when it is small, and the config written back in both forms
// and read again, which must succeed.
#include "fuzz_input.hpp"

#include <clipft/models/checkpoint.hpp>

#include <cstdio>

using namespace clipft;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    models::CLIPConfig config;
    try {
        config = models::config_from_json(io::parse_json(text, "config.json"), "config.json");
    } catch (const Error&) {
        return 0;
    }
    // An accepted config must survive writing and reading.
    models::CLIPConfig openai =
        models::config_from_json(io::parse_json(models::openai_config_string(config), "openai"), "openai");
    models::CLIPConfig huggingface = models::config_from_json(models::huggingface_config_json(config), "huggingface");
    if (openai.vision.width != config.vision.width || huggingface.text.mlp_width != config.text.mlp_width) {
        std::fprintf(stderr, "config changed in a round trip\n");
        std::abort();
    }
    if (config.parameter_count() <= 200'000) fuzz::refused_or_accepted([&] { models::CLIP<float> model(config); });
    return 0;
}
