// The tiny-a model on the GPU against the references of ../shared/fixtures/tiny-a (forward pass,
// group-loss gradients, one AdamW step), its step under bf16 autocast against float32, and the
// fused AdamW against the CPU's.
#include "../fixtures.hpp"
#include "compare.hpp"

#include <clipft/autocast.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/train/batch_file.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using namespace clipft::testing;

TEST_CASE("tiny-a on the GPU reproduces the reference forward pass") {
    auto path = fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto inputs = io::load_safetensors(fixture_path("tiny-a/inputs.safetensors"));
    auto expected = io::load_safetensors(fixture_path("tiny-a/expected.safetensors"));
    auto model = models::load_clip<float>(path);
    model->to(gpu);
    NoGradGuard no_grad;
    auto pixels = inputs.get<float>("pixel_values").to(gpu);
    auto ids = inputs.get<std::int64_t>("input_ids").to(gpu);
    auto image_embeds = model->encode_image(pixels);
    auto text_embeds = model->encode_text(ids);
    auto logits = model->logits(image_embeds, text_embeds);
    CHECK(image_embeds.device() == gpu);
    CHECK(excess(image_embeds, expected.get<float>("image_embeds"), 1e-4) <= 1e-4);
    CHECK(excess(text_embeds, expected.get<float>("text_embeds"), 1e-4) <= 1e-4);
    CHECK(excess(logits, expected.get<float>("logits_per_image"), 0) <= 1e-3);
}

TEST_CASE("tiny-a's group loss, gradients and AdamW step on the GPU match PyTorch's") {
    auto path = fixture_path("tiny-a/train_step.safetensors");
    if (path.empty()) return;
    auto model = models::load_clip<float>(fixture_path("tiny-a/openai.safetensors"));
    model->to(gpu);
    auto reference = io::load_safetensors(path);
    auto batch = train::read_group_batch<float>(reference);
    batch.pixels = batch.pixels.to(gpu);
    batch.token_ids = batch.token_ids.to(gpu);
    batch.class_ids = batch.class_ids.to(gpu);
    batch.description_of_slot = batch.description_of_slot.to(gpu);
    Tensor<float> loss = train::group_loss(*model, batch);
    loss.backward();
    CHECK(double(loss.item()) == doctest::Approx(double(reference.get<float>("loss").item())).epsilon(1e-5));
    for (const auto& [name, parameter] : model->named_parameters()) {
        CAPTURE(name);
        REQUIRE(parameter.grad().defined());
        CHECK(parameter.grad().device() == gpu);
        Tensor<float> grad = parameter.grad().to(Device::cpu());
        if (name == "token_embedding.weight") { // the reference keeps the rows the batch touches
            auto rows = reference.get<std::int64_t>("grad." + name + ".rows");
            CHECK(excess(ops::index_select(grad, 0, rows), reference.get<float>("grad." + name + ".values"), 1e-3) <=
                  1e-5);
            continue;
        }
        CHECK(excess(grad, reference.get<float>("grad." + name), 1e-3) <= 1e-5);
    }
    optim::AdamW<float> optimizer(optim::single_group(model->named_parameters(), 0.2),
                                  {.learning_rate = 1e-3, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6});
    optimizer.step();
    for (const auto& [name, parameter] : model->named_parameters()) {
        CAPTURE(name);
        if (name == "token_embedding.weight") continue; // compared by rows in test_train_step.cpp on the CPU
        CHECK(excess(parameter.to(Device::cpu()), reference.get<float>("after." + name), 0) <= 2e-4);
    }
}

TEST_CASE("the fused multi-tensor AdamW matches the CPU's step by step") {
    std::vector<Tensor<float>> cpu_parameters{uniform<float>({300, 7}, 30), uniform<float>({70001}, 31),
                                              uniform<float>({5}, 32)};
    std::vector<Tensor<float>> gpu_parameters;
    optim::NamedParameters<float> cpu_named, gpu_named;
    for (std::size_t i = 0; i < cpu_parameters.size(); ++i) {
        cpu_parameters[i].requires_grad_();
        gpu_parameters.push_back(cpu_parameters[i].detach().to(gpu));
        gpu_parameters.back().requires_grad_();
        cpu_named.emplace_back("p" + std::to_string(i), cpu_parameters[i]);
        gpu_named.emplace_back("p" + std::to_string(i), gpu_parameters[i]);
    }
    optim::AdamWOptions options{.learning_rate = 1e-2, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6};
    optim::AdamW<float> on_cpu(optim::decay_groups(cpu_named, 0.2), options),
        on_gpu(optim::decay_groups(gpu_named, 0.2), options);
    for (unsigned step = 0; step < 3; ++step) {
        for (std::size_t i = 0; i < cpu_parameters.size(); ++i) {
            Tensor<float> grad = uniform<float>(cpu_parameters[i].shape(), 40 + step * 10 + unsigned(i));
            cpu_parameters[i].zero_grad();
            gpu_parameters[i].zero_grad();
            cpu_parameters[i].accumulate_grad(grad);
            gpu_parameters[i].accumulate_grad(grad.to(gpu));
        }
        on_cpu.step();
        on_gpu.step();
    }
    for (std::size_t i = 0; i < cpu_parameters.size(); ++i) {
        CAPTURE(i);
        CHECK(excess(gpu_parameters[i], cpu_parameters[i], 1e-6) <= 1e-6);
    }
}

TEST_CASE("tiny-a's training step under bf16 autocast stays close to the float32 step") {
    auto path = fixture_path("tiny-a/train_step.safetensors");
    if (path.empty()) return;
    auto reference = io::load_safetensors(path);
    auto batch = train::read_group_batch<float>(reference).to(gpu);
    auto run = [&](Precision precision) {
        auto model = models::load_clip<float>(fixture_path("tiny-a/openai.safetensors"));
        model->to(gpu);
        AutocastGuard autocast(precision);
        Tensor<float> loss = train::group_loss(*model, batch);
        loss.backward();
        std::vector<float> gradients;
        for (const auto& [name, parameter] : model->named_parameters()) {
            std::vector<float> values = parameter.grad().to_vector();
            gradients.insert(gradients.end(), values.begin(), values.end());
        }
        return std::pair{double(loss.item()), gradients};
    };
    auto [loss32, grad32] = run(Precision::float32);
    auto [loss16, grad16] = run(Precision::bfloat16);
    CHECK(loss16 == doctest::Approx(loss32).epsilon(2e-2));
    // The gradient as one vector: bf16 products keep its direction.
    double dot = 0, norm32 = 0, norm16 = 0;
    for (std::size_t i = 0; i < grad32.size(); ++i)
        dot += double(grad32[i]) * grad16[i], norm32 += double(grad32[i]) * grad32[i],
            norm16 += double(grad16[i]) * grad16[i];
    CHECK(dot / std::sqrt(norm32 * norm16) > 0.99);
}
