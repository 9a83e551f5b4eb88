// Activation checkpointing (autograd.hpp checkpointed, nn::Transformer::checkpoint_activations):
// the same outputs and gradients as the plain graph, by finite differences in double and on tiny-a.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "gradcheck.hpp"

#include <clipft/models/adapters.hpp>
#include <clipft/models/checkpoint.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using testing::excess;

TEST_CASE("checkpointed: gradients of the input and of the parameters by finite differences") {
    Tensor<double> weight = testing::random_tensor({3, 3}, 1);
    auto function = [&](const Tensor<double>& x) { return ops::tanh(ops::linear(x, weight)) * x; };
    testing::check_gradients(
        [&](const std::vector<Tensor<double>>& inputs) {
            weight = inputs[1];
            return checkpointed("test", function, inputs[0], {weight});
        },
        {testing::random_tensor({2, 3}, 2), testing::random_tensor({3, 3}, 3)});
    // Only the parameters need gradients (a frozen input, e.g. embeddings): they still get them.
    Tensor<double> x = testing::random_tensor({2, 3}, 4);
    weight = testing::random_tensor({3, 3}, 5);
    weight.requires_grad_(true);
    ops::sum(checkpointed("test", function, x, {weight})).backward();
    CHECK(weight.grad().defined());
    // Nothing needs gradients: no graph.
    NoGradGuard no_grad;
    CHECK(!checkpointed("test", function, x, {weight}).requires_grad());
}

TEST_CASE("a transformer with checkpointed blocks: the input's gradient by finite differences, the parameters' as the "
          "plain graph's") {
    nn::Transformer<double> transformer(4, 2, 2, 8, nn::Activation::quick_gelu, 1e-5);
    testing::randomize_parameters(transformer, 10, 0.5);
    Tensor<double> mask = ops::causal_mask<double>(3);
    transformer.checkpoint_activations = true;
    testing::check_gradients([&](const std::vector<Tensor<double>>& x) { return transformer(x[0], mask); },
                             {testing::random_tensor({2, 3, 4}, 1)});
    Tensor<double> x = testing::random_tensor({2, 3, 4}, 2), w = testing::random_tensor({2, 3, 4}, 3);
    auto objective = [&] { return ops::sum(transformer(x, mask) * w); };
    auto checkpointed_gradients = testing::parameter_gradients<double>(transformer, objective);
    transformer.checkpoint_activations = false;
    auto plain = testing::parameter_gradients<double>(transformer, objective);
    REQUIRE(plain.size() == checkpointed_gradients.size());
    for (auto& [name, gradient] : plain)
        CHECK_MESSAGE(excess(checkpointed_gradients.at(name), gradient, 0) <= 1e-12, name);
}

TEST_CASE("tiny-a with checkpointed blocks (and LoRA adapters): the same loss and gradients within 1e-6 relative") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    auto model = models::load_clip<float>(path);
    Generator generator(1);
    models::attach_adapters(*model, {}, generator);
    for (auto& site : models::attached_adapter_sites(*model)) {
        NoGradGuard no_grad;
        auto& lora = dynamic_cast<nn::LoRA<float>&>(*site.adapter());
        lora.lora_B.copy_(testing::random_tensor(lora.lora_B.shape(), 4, -0.1, 0.1).to<float>());
    }
    double loss = 0;
    auto objective = [&] {
        Tensor<float> logits = model->logits(model->encode_image(inputs.get<float>("pixel_values")),
                                             model->encode_text(inputs.get<std::int64_t>("input_ids")));
        Tensor<float> value = ops::sum(logits * logits);
        loss = value.item();
        return value;
    };
    auto plain = testing::parameter_gradients<float>(*model, objective);
    const double plain_loss = loss;
    model->visual.transformer.checkpoint_activations = model->text.transformer.checkpoint_activations = true;
    auto checkpointed_gradients = testing::parameter_gradients<float>(*model, objective);
    CHECK(loss == doctest::Approx(plain_loss).epsilon(1e-6));
    REQUIRE(plain.size() == model->named_parameters().size());
    for (auto& [name, gradient] : plain) {
        double scale = 0;
        for (float value : gradient.to_vector()) scale = std::max(scale, double(std::abs(value)));
        CHECK_MESSAGE(excess(checkpointed_gradients.at(name), gradient, 0) <= 1e-6 * scale, name);
    }
}
