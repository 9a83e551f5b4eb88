// Dynamic loss scaling: scaled losses, unscaled gradients, skipped steps on overflow, back-off and
// growth of the scale, as torch.cuda.amp.GradScaler behaves.
#include <clipft/optim/adamw.hpp>
#include <clipft/optim/loss_scaler.hpp>

#include <doctest/doctest.h>

#include <limits>

using namespace clipft;

namespace {

Tensor<float> parameter_with_grad(std::vector<float> values, std::vector<float> grad) {
    Tensor<float> p = Tensor<float>::from_vector(values);
    p.requires_grad_();
    p.accumulate_grad(Tensor<float>::from_vector(grad));
    return p;
}

// Stands in for an optimizer: counts its steps.
struct CountingOptimizer {
    int steps = 0;
    void step() { ++steps; }
};

} // namespace

TEST_CASE("the loss is multiplied by the scale and the gradients divided by it") {
    optim::DynamicLossScaler scaler({.initial_scale = 1024});
    Tensor<float> x = Tensor<float>::from_vector({0.5f, -2.0f});
    x.requires_grad_();
    Tensor<float> loss = ops::sum(x * x);
    Tensor<float> scaled = scaler.scale_loss(loss);
    CHECK(scaled.item() == 1024.0f * 4.25f);
    scaled.backward();
    CHECK(x.grad().to_vector() == std::vector<float>{1024.0f, -4096.0f}); // d(1024 x^2)/dx
    CHECK(scaler.unscale(std::vector<Tensor<float>>{x}));
    CHECK(x.grad().to_vector() == std::vector<float>{1.0f, -4.0f});
}

TEST_CASE("an overflowing step is skipped and the scale backs off") {
    optim::DynamicLossScaler scaler({.initial_scale = 8, .backoff_factor = 0.25});
    const float infinity = std::numeric_limits<float>::infinity();
    std::vector<Tensor<float>> parameters{parameter_with_grad({1, 2}, {16, 8}), parameter_with_grad({3}, {infinity})};
    CountingOptimizer optimizer;
    CHECK_FALSE(scaler.step(optimizer, parameters));
    CHECK(optimizer.steps == 0);
    CHECK(scaler.scale() == 2.0);
    CHECK(scaler.skipped_steps() == 1);

    std::vector<Tensor<float>> nan_gradient{parameter_with_grad({1}, {std::numeric_limits<float>::quiet_NaN()})};
    CHECK_FALSE(scaler.step(optimizer, nan_gradient));
    CHECK(scaler.scale() == 0.5);
}

TEST_CASE("the scale grows after growth_interval clean steps in a row, and an overflow restarts the count") {
    optim::DynamicLossScaler scaler({.initial_scale = 4, .growth_factor = 3, .growth_interval = 2});
    CountingOptimizer optimizer;
    auto clean = [] { return std::vector<Tensor<float>>{parameter_with_grad({1}, {1})}; };
    CHECK(scaler.step(optimizer, clean()));
    CHECK(scaler.scale() == 4.0);
    CHECK(scaler.step(optimizer, clean()));
    CHECK(scaler.scale() == 12.0);
    CHECK(optimizer.steps == 2);
    scaler.update(true);
    scaler.update(false); // halves, and the clean run starts again
    CHECK(scaler.scale() == 6.0);
    scaler.update(true);
    CHECK(scaler.scale() == 6.0);
    scaler.update(true);
    CHECK(scaler.scale() == 18.0);
}

TEST_CASE("a clean step reaches the optimizer with the unscaled gradients") {
    Tensor<float> p = parameter_with_grad({1.0f}, {0.5f * 256});
    optim::AdamW<float> optimizer({{{{"p", p}}, 0.0}}, {.learning_rate = 0.1});
    optim::DynamicLossScaler scaler({.initial_scale = 256});
    CHECK(scaler.step(optimizer, std::vector<Tensor<float>>{p}));
    // Adam's first step moves by the learning rate whatever the gradient's size; its sign decides.
    CHECK(p.item() == doctest::Approx(0.9).epsilon(1e-5));
    CHECK(p.grad().item() == 0.5f);
}

TEST_CASE("invalid options are refused") {
    CHECK_THROWS_AS(optim::DynamicLossScaler({.initial_scale = 0}), Error);
    CHECK_THROWS_AS(optim::DynamicLossScaler({.growth_factor = 1}), Error);
    CHECK_THROWS_AS(optim::DynamicLossScaler({.backoff_factor = 1}), Error);
    CHECK_THROWS_AS(optim::DynamicLossScaler({.growth_interval = 0}), Error);
}
