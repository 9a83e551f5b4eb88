// nn::Transformer::at_positions and the towers' pooled forwards built on it: the same values and
// gradients as running every position and selecting afterwards, by finite differences in double,
// and on tiny-a (with LoRA adapters on q, k and v, whose q change then comes from the pooled rows).
#include "assertions.hpp"
#include "fixtures.hpp"
#include "gradcheck.hpp"

#include <clipft/models/adapters.hpp>
#include <clipft/models/checkpoint.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <utility>

using namespace clipft;
using testing::excess;

TEST_CASE("Transformer::at_positions: what selecting the plain output gives, values and gradients") {
    nn::Transformer<double> transformer(8, 2, 2, 16, nn::Activation::quick_gelu, 1e-5);
    testing::randomize_parameters(transformer, 20, 0.5);
    Tensor<std::int64_t> positions = Tensor<std::int64_t>::from_vector({4, 0, 2});
    Tensor<double> x = testing::random_tensor({3, 5, 8}, 1), w = testing::random_tensor({3, 8}, 2);
    for (bool causal : {false, true})
        for (bool checkpoint : {false, true}) {
            CAPTURE(causal);
            CAPTURE(checkpoint);
            transformer.checkpoint_activations = checkpoint;
            Tensor<double> mask = causal ? ops::causal_mask<double>(5) : Tensor<double>();
            Tensor<double> plain = ops::select_positions(transformer(x, mask), positions);
            Tensor<double> pooled = transformer.at_positions(x, positions, mask);
            REQUIRE(pooled.shape() == Shape{3, 8});
            CHECK(excess(pooled, plain, 0) <= 1e-12);
            auto pooled_gradients = testing::parameter_gradients<double>(
                transformer, [&] { return ops::sum(transformer.at_positions(x, positions, mask) * w); });
            auto plain_gradients = testing::parameter_gradients<double>(
                transformer, [&] { return ops::sum(ops::select_positions(transformer(x, mask), positions) * w); });
            REQUIRE(pooled_gradients.size() == plain_gradients.size());
            for (auto& [name, gradient] : plain_gradients)
                CHECK_MESSAGE(excess(pooled_gradients.at(name), gradient, 0) <= 1e-12, name);
        }
    transformer.checkpoint_activations = false;
    // The input's gradient by finite differences, under the causal mask (rows of it per sequence).
    Tensor<double> mask = ops::causal_mask<double>(5);
    testing::check_gradients(
        [&](const std::vector<Tensor<double>>& inputs) { return transformer.at_positions(inputs[0], positions, mask); },
        {testing::random_tensor({3, 5, 8}, 3)});
}

TEST_CASE("Transformer::at_positions: a mask that is not [L, L] is refused, naming both shapes") {
    nn::Transformer<double> transformer(4, 1, 2, 8, nn::Activation::quick_gelu, 1e-5);
    Tensor<double> x = testing::random_tensor({2, 3, 4}, 1);
    Tensor<std::int64_t> positions = Tensor<std::int64_t>::from_vector({0, 2});
    CHECK_THROWS_WITH_AS(transformer.at_positions(x, positions, Tensor<double>::zeros({2, 1, 3, 3})),
                         doctest::Contains("takes an [L, L] mask, here [3, 3]; got [2, 1, 3, 3]"), Error);
    CHECK_THROWS_AS(transformer.at_positions(x, Tensor<std::int64_t>::from_vector({0, 3})), Error);
}

TEST_CASE("tiny-a's pooled towers: the embeddings and gradients of every position's forward, LoRA on q, k, v") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    auto model = models::load_clip<float>(path);
    Generator generator(1);
    models::AdapterOptions options;
    options.targets = {nn::AdapterTarget::q, nn::AdapterTarget::k, nn::AdapterTarget::v};
    models::attach_adapters(*model, options, generator);
    for (auto& site : models::attached_adapter_sites(*model)) {
        NoGradGuard no_grad;
        auto& lora = dynamic_cast<nn::LoRA<float>&>(*site.adapter());
        lora.lora_B.copy_(testing::random_tensor(lora.lora_B.shape(), 4, -0.1, 0.1).to<float>());
    }
    Tensor<float> pixels = inputs.get<float>("pixel_values");
    Tensor<std::int64_t> ids = inputs.get<std::int64_t>("input_ids");
    Tensor<std::int64_t> ends = model->text.end_of_text_positions(ids);
    // The fixture's texts end at different positions: the shorter ones see masked keys.
    std::vector<std::int64_t> end_positions = ends.to_vector();
    REQUIRE(end_positions.size() >= 2);
    CHECK(*std::min_element(end_positions.begin(), end_positions.end()) <
          *std::max_element(end_positions.begin(), end_positions.end()));
    auto every_position = [&] {
        Tensor<float> images =
            ops::matmul(model->visual.ln_post(model->visual.hidden_states(pixels).select(1, 0)), model->visual.proj);
        Tensor<float> texts =
            ops::matmul(ops::select_positions(model->text.hidden_states(ids), ends), model->text.text_projection);
        return std::pair{images, texts};
    };
    auto pooled = [&] { return std::pair{model->encode_image(pixels), model->encode_text(ids)}; };
    auto objective = [&](auto embeddings) {
        return [&model, embeddings] {
            auto [images, texts] = embeddings();
            Tensor<float> logits = model->logits(images, texts);
            return ops::sum(logits * logits);
        };
    };
    {
        NoGradGuard no_grad;
        auto [images, texts] = pooled();
        auto [all_images, all_texts] = every_position();
        CHECK(excess(images, all_images, 1e-5) <= 1e-6);
        CHECK(excess(texts, all_texts, 1e-5) <= 1e-6);
        // Without the longest text the blocks run on fewer positions than the context holds.
        std::int64_t longest = std::max_element(end_positions.begin(), end_positions.end()) - end_positions.begin();
        std::vector<std::int64_t> shorter;
        for (std::int64_t row = 0; row < std::int64_t(end_positions.size()); ++row)
            if (end_positions[row] < end_positions[longest]) shorter.push_back(row);
        REQUIRE(!shorter.empty());
        std::vector<std::int64_t> all_ids = ids.to_vector(), shorter_ids;
        const std::int64_t context = ids.size(1);
        for (std::int64_t row : shorter)
            shorter_ids.insert(shorter_ids.end(), all_ids.begin() + row * context,
                               all_ids.begin() + (row + 1) * context);
        Tensor<std::int64_t> shorter_texts =
            Tensor<std::int64_t>::from_vector(shorter_ids).reshape({std::int64_t(shorter.size()), context});
        CHECK(excess(model->encode_text(shorter_texts),
                     ops::index_select(all_texts, 0, Tensor<std::int64_t>::from_vector(shorter)), 1e-5) <= 1e-6);
    }
    auto expected = testing::parameter_gradients<float>(*model, objective(every_position));
    auto actual = testing::parameter_gradients<float>(*model, objective(pooled));
    REQUIRE(expected.size() == actual.size());
    for (auto& [name, gradient] : expected) {
        double scale = 0;
        for (float value : gradient.to_vector()) scale = std::max(scale, double(std::abs(value)));
        CHECK_MESSAGE(excess(actual.at(name), gradient, 0) <= 1e-5 * scale, name);
    }
}
