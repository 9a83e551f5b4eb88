// clipft encode: image and text embeddings (and logits) of a checkpoint, as safetensors.
#include "adapted_model.hpp"
#include "options.hpp"
#include "device_options.hpp"

#include <clipft/clip.hpp>
#include <clipft/models/checkpoint.hpp>

namespace clipft::cli {

int encode(const Options& options) {
    if (!options.given("inputs") && !options.given("text") && !options.given("images"))
        throw UsageError("nothing to encode: give --inputs FILE, --text STR... or --images IMG...");
    AutocastGuard autocast(cpu_precision(options));
    std::filesystem::path model_path = options.text("model"), out = options.text("out");
    auto model = load_adapted_model(options);
    NoGradGuard no_grad;

    Tensor<float> pixels;
    Tensor<std::int64_t> ids;
    if (options.given("inputs")) {
        auto inputs = io::load_safetensors(options.text("inputs"));
        if (!inputs.contains("pixel_values") && !inputs.contains("input_ids"))
            fail(options.text("inputs"), ": holds neither 'pixel_values' nor 'input_ids'");
        if (inputs.contains("pixel_values")) pixels = inputs.get<float>("pixel_values");
        if (inputs.contains("input_ids")) ids = inputs.get<std::int64_t>("input_ids");
    }
    if (options.given("images")) {
        std::vector<std::filesystem::path> paths(options.list("images").begin(), options.list("images").end());
        Tensor<float> images = image::preprocess_batch(paths, {.size = model->config.vision.image_size});
        pixels = pixels.defined() ? ops::concat<float>({pixels, images}, 0) : images;
    }
    if (options.given("text")) {
        // A model directory carries its vocabulary; a single checkpoint file may have it beside it.
        std::filesystem::path vocab =
            options.given("vocab") ? std::filesystem::path(options.text("vocab")) : text::model_vocabulary(model_path);
        auto tokenizer = text::Tokenizer::load(vocab);
        auto rows = tokenizer.tokenize_batch(options.list("text"), model->config.text.context_length, true);
        ids = ids.defined() ? ops::concat<std::int64_t>({ids, rows}, 0) : rows;
    }

    io::NamedTensors results;
    Tensor<float> image_embeds, text_embeds;
    if (pixels.defined()) results.emplace_back("image_embeds", image_embeds = model->encode_image(pixels));
    if (ids.defined()) results.emplace_back("text_embeds", text_embeds = model->encode_text(ids));
    if (image_embeds.defined() && text_embeds.defined()) {
        Tensor<float> logits = model->logits(image_embeds, text_embeds);
        results.emplace_back("logits_per_image", logits);
        results.emplace_back("logits_per_text", logits.transpose(0, 1));
    }
    io::save_safetensors(out, results);
    return 0;
}

} // namespace clipft::cli
