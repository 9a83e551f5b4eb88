// CLIP against the reference implementation: the tiny-a checkpoints in OpenAI and HuggingFace
// layouts (F32, F16, BF16) reproduce OpenAI's forward pass (../shared/fixtures/tiny-a).
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/models/checkpoint.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using models::CheckpointLayout;
using testing::excess;

namespace {

// Checks every reference output of the forward pass for a model loaded from `checkpoint`.
void check_forward(const std::filesystem::path& checkpoint, double absolute, double relative, double logits_tolerance) {
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    auto expected = io::load_safetensors(testing::fixture_path("tiny-a/expected.safetensors"));
    auto model = models::load_clip<float>(checkpoint);
    NoGradGuard no_grad;
    auto pixels = inputs.get<float>("pixel_values");
    auto ids = inputs.get<std::int64_t>("input_ids");

    std::vector<Tensor<float>> vision_states, text_states;
    auto vision_tokens = model->visual.hidden_states(pixels, &vision_states);
    auto text_tokens = model->text.hidden_states(ids, &text_states);
    auto image_embeds = model->encode_image(pixels);
    auto text_embeds = model->encode_text(ids);
    auto logits = model->logits(image_embeds, text_embeds);

    CHECK(excess(image_embeds, expected.get<float>("image_embeds"), relative) <= absolute);
    CHECK(excess(text_embeds, expected.get<float>("text_embeds"), relative) <= absolute);
    CHECK(excess(model->visual.ln_post(vision_tokens.select(1, 0)), expected.get<float>("vision_pre_proj"), relative) <=
          absolute);
    auto positions = model->text.end_of_text_positions(ids);
    CHECK(positions.to_vector() == expected.get<std::int64_t>("eot_positions").to_vector());
    CHECK(excess(ops::select_positions(text_tokens, positions), expected.get<float>("text_pre_proj"), relative) <=
          absolute);
    CHECK(excess(text_tokens, expected.get<float>("text_last_hidden_state"), relative) <= absolute);
    REQUIRE(vision_states.size() == 3);
    REQUIRE(text_states.size() == 3);
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(excess(vision_states[i], expected.get<float>("vision_hidden_states." + std::to_string(i)), relative) <=
              absolute);
        CHECK(excess(text_states[i], expected.get<float>("text_hidden_states." + std::to_string(i)), relative) <=
              absolute);
    }
    CHECK(excess(logits, expected.get<float>("logits_per_image"), 0) <= logits_tolerance);
    CHECK(excess(logits.transpose(0, 1), expected.get<float>("logits_per_text"), 0) <= logits_tolerance);
}

} // namespace

TEST_CASE("tiny-a in the OpenAI layout matches the reference forward pass") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    check_forward(path, 1e-4, 1e-4, 1e-3);
}

TEST_CASE("tiny-a in the HuggingFace layout, as a directory and as a file, matches the reference") {
    auto directory = testing::fixture_path("tiny-a");
    if (directory.empty()) return;
    check_forward(directory, 1e-4, 1e-4, 1e-3);
    check_forward(directory / "model.safetensors", 1e-4, 1e-4, 1e-3);
}

// The 16-bit checkpoints hold the weights rounded to 11 (F16) or 8 (BF16) significant bits: each
// weight moves by up to 2^-11 or 2^-8 of itself. Through two blocks per tower these relative
// perturbations add up to errors of a few times that on O(1) activations; the bounds below allow
// about 8 times the per-weight rounding (F16: 4e-3; BF16: 3e-2) on every output.
TEST_CASE("tiny-a in F16 and BF16 matches the reference within the precision of the weights") {
    auto directory = testing::fixture_path("tiny-a");
    if (directory.empty()) return;
    testing::TemporaryDirectory scratch;
    for (auto [file, bound] :
         {std::pair<const char*, double>{"model.fp16.safetensors", 4e-3}, {"model.bf16.safetensors", 3e-2}}) {
        CAPTURE(file);
        std::filesystem::copy_file(directory / file, scratch.path() / "model.safetensors",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(directory / "config.json", scratch.path() / "config.json",
                                   std::filesystem::copy_options::overwrite_existing);
        check_forward(scratch.path(), bound, bound, 40 * bound);
    }
}

TEST_CASE("saving in either layout and loading again round-trips; F32 files are byte-identical") {
    auto directory = testing::fixture_path("tiny-a");
    if (directory.empty()) return;
    testing::TemporaryDirectory scratch;
    auto model = models::load_clip<float>(directory / "openai.safetensors");
    models::save_clip(*model, scratch.path() / "openai.safetensors", CheckpointLayout::openai);
    CHECK(testing::read_bytes(scratch.path() / "openai.safetensors") ==
          testing::read_bytes(directory / "openai.safetensors"));
    models::save_clip(*model, scratch.path() / "model.safetensors", CheckpointLayout::huggingface);
    CHECK(testing::read_bytes(scratch.path() / "model.safetensors") ==
          testing::read_bytes(directory / "model.safetensors"));
    models::save_clip(*model, scratch.path() / "hf", CheckpointLayout::huggingface);
    auto again = models::load_clip<float>(scratch.path() / "hf");
    for (auto& [name, parameter] : model->named_parameters())
        CHECK(again->parameter(name).to_vector() == parameter.to_vector());
}

TEST_CASE("configs: presets, OpenAI and HuggingFace JSON, and inference from shapes") {
    auto l14 = models::CLIPConfig::preset("ViT-L/14@336");
    CHECK(l14.vision.image_size == 336);
    CHECK(l14.vision.tokens() == 577);
    CHECK(l14.embed_dim == 768);
    CHECK(models::CLIPConfig::preset("B16").vision.patch_size == 16);
    CHECK_THROWS_WITH_AS(models::CLIPConfig::preset("ViT-H/14"), doctest::Contains("unknown CLIP preset 'ViT-H/14'"),
                         Error);

    auto directory = testing::fixture_path("tiny-a");
    if (directory.empty()) return;
    auto openai = models::config_from_json(io::read_json_file(directory / "openai_config.json"), "openai_config.json");
    auto huggingface = models::config_from_json(io::read_json_file(directory / "config.json"), "config.json");
    for (const auto& config : {openai, huggingface}) {
        CHECK(config.embed_dim == 32);
        CHECK(config.vision.image_size == 32);
        CHECK(config.vision.heads == 1);
        CHECK(config.text.heads == 4);
        CHECK(config.text.mlp_width == 256);
    }
    models::CheckpointReader reader(io::load_safetensors(directory / "openai.safetensors"));
    auto inferred = models::infer_config(reader);
    CHECK(inferred.vision.width == 64);
    CHECK(inferred.vision.layers == 2);
    CHECK(inferred.vision.patch_size == 8);
    CHECK(inferred.text.layers == 2);
    CHECK(inferred.text.heads == 1); // OpenAI's width / 64 rule: wrong for tiny-a, which is why configs win
    CHECK_THROWS_WITH_AS(models::config_from_json(io::Json::parse("{\"embed_dim\": 4}"), "my.json"),
                         doctest::Contains("my.json: the config has no 'image_resolution'"), Error);
}

TEST_CASE("one tower at a time") {
    auto path = testing::fixture_path("tiny-a/model.safetensors");
    if (path.empty()) return;
    auto vision = models::load_vision_tower<float>(path);
    auto text = models::load_text_tower<float>(path);
    auto expected = io::load_safetensors(testing::fixture_path("tiny-a/expected.safetensors"));
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    NoGradGuard no_grad;
    CHECK(excess((*vision)(inputs.get<float>("pixel_values")), expected.get<float>("image_embeds"), 1e-4) <= 1e-4);
    CHECK(excess((*text)(inputs.get<std::int64_t>("input_ids")), expected.get<float>("text_embeds"), 1e-4) <= 1e-4);
}

TEST_CASE("checkpoints that do not fit the model are reported all at once") {
    auto directory = testing::fixture_path("tiny-a");
    if (directory.empty()) return;
    testing::TemporaryDirectory scratch;
    auto source = io::load_safetensors(directory / "openai.safetensors");
    io::NamedTensors tensors;
    for (const auto& name : source.names()) {
        if (name == "visual.proj" || name == "ln_final.bias") continue; // missing
        if (name == "text_projection")
            tensors.emplace_back(name, Tensor<float>::zeros({64, 31})); // mis-shaped
        else
            tensors.emplace_back(name, source.get_any(name));
    }
    tensors.emplace_back("visual.extra_head", Tensor<float>::zeros({2})); // unknown
    auto broken = scratch.path() / "broken.safetensors";
    io::save_safetensors(broken, tensors, source.metadata());
    try {
        models::load_clip<float>(broken);
        FAIL("loading a broken checkpoint did not throw");
    } catch (const Error& error) {
        std::string message = error.what();
        CHECK(message.find(broken.string()) != std::string::npos);
        CHECK(message.find("2 missing: ") != std::string::npos);
        CHECK(message.find("visual.proj") != std::string::npos);
        CHECK(message.find("ln_final.bias") != std::string::npos);
        CHECK(message.find("text_projection (checkpoint [64, 31], model [64, 32])") != std::string::npos);
        CHECK(message.find("1 unknown: visual.extra_head") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(models::load_clip<float>(scratch.path() / "nowhere"),
                         doctest::Contains("no such file or directory"), Error);
    CHECK_THROWS_WITH_AS(models::load_clip<float>(scratch.path()), doctest::Contains("has no model.safetensors"),
                         Error);
}

TEST_CASE("hostile configs and shapes are errors naming the file, never out-of-range conversions or overflows") {
    auto from_text = [](const std::string& text) {
        return models::config_from_json(io::parse_json(text, "c.json"), "c.json");
    };
    std::string openai = models::openai_config_string(models::CLIPConfig::preset("ViT-B/32"));
    auto with = [&](const std::string& key, const std::string& value) {
        std::string text = openai;
        std::size_t begin = text.find("\"" + key + "\": ") + key.size() + 4;
        return text.replace(begin, text.find_first_of(",}", begin) - begin, value);
    };
    CHECK(from_text(openai).vision.width == 768);
    CHECK_THROWS_WITH_AS(from_text(with("image_resolution", "1e300")),
                         "c.json: config value 'image_resolution' must be a whole number below 2^63, not 1e+300",
                         Error);
    CHECK_THROWS_WITH_AS(
        from_text(with("vision_width", "18446744073709551615")),
        "c.json: config value 'vision_width' must be a whole number below 2^63, not 18446744073709551615", Error);
    CHECK_THROWS_WITH_AS(from_text(with("vision_width", "4611686018427387904")),
                         "c.json: a tower width of 4611686018427387904 is too large for a model", Error);
    CHECK_THROWS_WITH_AS(from_text(with("vision_layers", "-1")),
                         "CLIP config: vision.layers must be at least 0, got -1", Error);

    // Shapes with an empty dimension hold no data, so a file can give any other extent: inference
    // checks ranks and products.
    testing::TemporaryDirectory scratch;
    auto infer = [&](Shape conv, Shape positions) {
        auto path = scratch / "inferred.safetensors";
        io::save_safetensors(path, io::NamedTensors{{"visual.conv1.weight", Tensor<float>::zeros(conv)},
                                                    {"visual.positional_embedding", Tensor<float>::zeros(positions)},
                                                    {"text_projection", Tensor<float>::zeros({4, 0})},
                                                    {"positional_embedding", Tensor<float>::zeros({4, 0})},
                                                    {"token_embedding.weight", Tensor<float>::zeros({8, 0})},
                                                    {"ln_final.weight", Tensor<float>::zeros({4})}});
        return testing::error_message([&] { models::load_clip<float>(path); });
    };
    std::string file = (scratch / "inferred.safetensors").string();
    CHECK(infer({0}, {5, 4}) ==
          file + ": tensor 'visual.conv1.weight' has shape [0]; a CLIP checkpoint has 4 dimensions there");
    CHECK(
        infer({4, 3, 0, std::int64_t(1) << 62}, {(std::int64_t(1) << 40) + 1, 0}) ==
        file +
            ": the patch size 4611686018427387904 and the 1048576x1048576 patch grid of the shapes give no image size");
}

TEST_CASE("HuggingFace q/k/v parts that cannot be joined make the tensor mis-shaped, not a crash") {
    models::CLIPConfig config;
    config.embed_dim = 4;
    config.vision = {.image_size = 4, .patch_size = 2, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text = {.context_length = 4, .vocab_size = 8, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text.end_of_text_id = 7;
    testing::TemporaryDirectory scratch;
    models::save_clip(models::CLIP<float>(config), scratch / "model", models::CheckpointLayout::huggingface);
    auto source = io::load_safetensors(scratch / "model" / "model.safetensors");
    io::NamedTensors tensors;
    const std::string key = "text_model.encoder.layers.0.self_attn.k_proj.weight";
    for (const auto& name : source.names())
        tensors.emplace_back(name, name == key ? io::AnyTensor(Tensor<float>::zeros({4, 3})) : source.get_any(name));
    io::save_safetensors(scratch / "model" / "model.safetensors", tensors, source.metadata());
    CHECK(testing::error_message([&] {
              models::load_clip<float>(scratch / "model");
          }).find("mis-shaped: transformer.resblocks.0.attn.in_proj_weight (checkpoint [-1], model [12, 4])") !=
          std::string::npos);
}
