// Freeze policies and OpenAI's initialisation of the towers: which parameters train, that frozen
// ones get no gradient, no optimizer memory and no graph, and that a reset really resets.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/models/checkpoint.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/train/freeze.hpp>
#include <clipft/train/group_batch.hpp>

#include <set>

using namespace clipft;
using train::FreezePolicy;

namespace {

models::CLIPConfig tiny_config() {
    models::CLIPConfig config;
    config.embed_dim = 8;
    config.vision = {.image_size = 16, .patch_size = 8, .width = 16, .layers = 3, .heads = 2, .mlp_width = 32};
    config.text = {.context_length = 8, .vocab_size = 50, .width = 16, .layers = 2, .heads = 2, .mlp_width = 32};
    config.text.end_of_text_id = 49;
    return config;
}

std::set<std::string> trained(const models::CLIP<float>& model) {
    std::set<std::string> names;
    for (const auto& [name, parameter] : model.named_parameters())
        if (parameter.requires_grad()) names.insert(name);
    return names;
}

} // namespace

TEST_CASE("each policy trains exactly its parameters") {
    models::CLIP<float> model(tiny_config());
    Generator generator(1);
    std::size_t all = model.named_parameters().size();
    auto apply = [&](const std::string& policy) {
        train::apply_freeze_policy(FreezePolicy::parse(policy), model, generator);
        return trained(model);
    };
    CHECK(apply("full").size() == all);
    for (const auto& name : apply("freeze-text")) CHECK((name.rfind("visual.", 0) == 0 || name == "logit_scale"));
    for (const auto& name : apply("freeze-vision")) CHECK(name.rfind("visual.", 0) != 0);
    CHECK(apply("freeze-vision").contains("token_embedding.weight"));
    CHECK(apply("none").empty());
    for (const auto& name : apply("layer-norm"))
        CHECK((name.find("ln_") != std::string::npos || name == "logit_scale"));
    CHECK(apply("layer-norm").contains("visual.ln_pre.weight"));
    std::set<std::string> last = apply("last-blocks=1+freeze-scale");
    CHECK(last.contains("visual.transformer.resblocks.2.attn.in_proj_weight"));
    CHECK_FALSE(last.contains("visual.transformer.resblocks.1.attn.in_proj_weight"));
    CHECK(last.contains("transformer.resblocks.1.mlp.c_fc.weight"));
    CHECK_FALSE(last.contains("transformer.resblocks.0.mlp.c_fc.weight"));
    CHECK(last.contains("visual.proj"));
    CHECK(last.contains("ln_final.weight"));
    CHECK_FALSE(last.contains("visual.conv1.weight"));
    CHECK_FALSE(last.contains("token_embedding.weight"));
    CHECK_FALSE(last.contains("logit_scale"));
    CHECK(apply("last-blocks=0").size() == 7); // ln_post (2), proj, ln_final (2), text_projection, logit_scale
}

TEST_CASE("unknown policies are refused with the list of words") {
    CHECK(testing::error_message([] { FreezePolicy::parse("freeze-txt"); }).find("freeze-text") != std::string::npos);
    CHECK(testing::error_message([] { FreezePolicy::parse("last-blocks=x"); }).find("whole number") !=
          std::string::npos);
}

TEST_CASE("a frozen text tower records no graph, gets no gradient and holds no optimizer state") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto model = models::load_clip<float>(path);
    Generator generator(2);
    train::apply_freeze_policy(FreezePolicy::parse("freeze-text"), *model, generator);
    optim::AdamW<float> optimizer(optim::decay_groups(model->named_parameters(), 0.2), {1e-4, 0.9, 0.98, 1e-6});
    auto reference = io::load_safetensors(path.parent_path() / "train_step.safetensors");
    Tensor<std::int64_t> ids = reference.get<std::int64_t>("input_ids");
    CHECK_FALSE(model->encode_text(ids).requires_grad());
    Tensor<float> pixels = reference.get<float>("pixel_values");
    auto batch = train::make_group_batch(pixels, Tensor<std::int64_t>::from_vector({0, 1, 0, 1, 0, 1}, {3, 2}), ids,
                                         Tensor<std::int64_t>::from_vector({0, 1, 0, 1, 0, 1}, {3, 2}));
    train::group_loss(*model, batch).backward();
    optimizer.step();
    for (const auto& [name, parameter] : model->named_parameters()) {
        CAPTURE(name);
        bool vision = name.rfind("visual.", 0) == 0 || name == "logit_scale";
        CHECK(parameter.grad().defined() == vision);
        CHECK(optimizer.state().contains(name) == vision);
    }
}

TEST_CASE("reset-vision re-draws every vision parameter with OpenAI's initialisation") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto model = models::load_clip<float>(path);
    auto original = models::load_clip<float>(path);
    Generator generator(3);
    train::apply_freeze_policy(FreezePolicy::parse("reset-vision+freeze-text"), *model, generator);
    auto before = original->named_parameters();
    auto after = model->named_parameters();
    for (std::size_t i = 0; i < after.size(); ++i) {
        const auto& [name, parameter] = after[i];
        CAPTURE(name);
        bool vision = name.rfind("visual.", 0) == 0;
        // The fixture perturbed every parameter, so a reset one differs everywhere it is not exactly drawn again.
        CHECK((parameter.to_vector() != before[i].second.to_vector()) == vision);
        if (!vision) continue;
        std::vector<float> values = parameter.to_vector();
        double sum = 0, squares = 0, largest = 0;
        for (float v : values) sum += v, squares += double(v) * v, largest = std::max(largest, std::abs(double(v)));
        double mean = sum / double(values.size()), std = std::sqrt(squares / double(values.size()) - mean * mean);
        double width = 64;
        if (name.find("ln_") != std::string::npos) {
            CHECK(largest == (name.ends_with(".weight") ? 1.0 : 0.0));
            CHECK(std == 0.0);
        } else if (name.ends_with("in_proj_bias") || name.ends_with("out_proj.bias")) {
            CHECK(largest == 0.0);
        } else if (name == "visual.positional_embedding" || name == "visual.proj" || name == "visual.class_embedding") {
            CHECK(std == doctest::Approx(1 / std::sqrt(width)).epsilon(0.25));
        } else if (name.ends_with("in_proj_weight")) {
            CHECK(largest <= std::sqrt(6.0 / (4 * width)));
            CHECK(std == doctest::Approx(std::sqrt(6.0 / (4 * width)) / std::sqrt(3.0)).epsilon(0.1));
        } else if (name == "visual.conv1.weight") {
            CHECK(largest <= 1 / std::sqrt(3.0 * 8 * 8));
            CHECK(std == doctest::Approx(1 / std::sqrt(3.0 * 8 * 8 * 3)).epsilon(0.1));
        }
    }
}

TEST_CASE("initialize_clip draws a usable model: unit-scale embeddings, the CLIP temperature") {
    models::CLIP<float> model(tiny_config());
    Generator generator(4);
    models::initialize_clip(model, generator);
    CHECK(model.logit_scale.item() == doctest::Approx(std::log(1 / 0.07)));
    double token_std = 0;
    for (float v : model.text.token_embedding.weight.to_vector()) token_std += double(v) * v;
    token_std = std::sqrt(token_std / double(model.text.token_embedding.weight.numel()));
    CHECK(token_std == doctest::Approx(0.02).epsilon(0.15));
    NoGradGuard no_grad;
    Tensor<float> images = model.encode_image(randn<float>({2, 3, 16, 16}, generator));
    for (float v : images.to_vector()) CHECK(std::isfinite(v));
}
