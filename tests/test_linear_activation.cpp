// ops::linear_activation, the MLP's first layer with its bias and activation fused into the
// product: forward and gradients against the unfused ops (linear, then the activation) in float,
// on products small enough for one thread and large enough to be split over the pool by rows and
// by columns, gradients by finite differences in double, and nn::Linear's fused call. Also the
// attention mask added in the softmax's first pass, for the mask layouts the row kernel reads.
#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/backend/cpu/bfloat16_dispatch.hpp>
#include <clipft/nn/layers.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using clipft::testing::check_gradients;
using clipft::testing::random_tensor;

namespace {

struct Case {
    Shape input;
    std::int64_t out_features;
};

// One thread's product (3 * 17 rows folded), then products split over the pool by rows (more rows
// than columns) and by columns.
const std::vector<Case> cases{{{3, 17, 40}, 50}, {{130, 60}, 100}, {{40, 60}, 300}};

template <typename Function> void check_against_unfused(Function activation, bool with_bias) {
    for (const Case& shape : cases) {
        CAPTURE(shape.out_features);
        CAPTURE(with_bias);
        std::int64_t in_features = shape.input.back();
        Tensor<float> x = random_tensor(shape.input, 1).to<float>().requires_grad_(true);
        Tensor<float> weight = random_tensor({shape.out_features, in_features}, 2).to<float>().requires_grad_(true);
        Tensor<float> bias =
            with_bias ? random_tensor({shape.out_features}, 3).to<float>().requires_grad_(true) : Tensor<float>();
        Shape out_shape = shape.input;
        out_shape.back() = shape.out_features;
        Tensor<float> weights = random_tensor(out_shape, 4).to<float>();
        auto gradients = [&](const Tensor<float>& output) {
            for (Tensor<float> t : {x, weight, bias})
                if (t.defined()) t.zero_grad();
            ops::sum(output * weights).backward();
            std::vector<Tensor<float>> result{x.grad(), weight.grad()};
            if (with_bias) result.push_back(bias.grad());
            return result;
        };
        Tensor<float> unfused = ops::elementwise(ops::linear(x, weight, bias), activation);
        Tensor<float> fused = ops::linear_activation(x, weight, bias, activation);
        REQUIRE(fused.shape() == out_shape);
        CHECK(testing::excess(fused, unfused, 1e-5) <= 1e-5);
        {
            NoGradGuard no_grad; // no derivative stored: the same values
            CHECK(testing::excess(ops::linear_activation(x, weight, bias, activation), unfused, 1e-5) <= 1e-5);
        }
        std::vector<Tensor<float>> expected = gradients(unfused), actual = gradients(fused);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CAPTURE(i);
            CHECK(testing::excess(actual[i], expected[i], 1e-4) <= 1e-4);
        }
    }
}

} // namespace

TEST_CASE("linear_activation computes activation(x W^T + b) and its gradients as the unfused ops do") {
    for (bool with_bias : {true, false}) {
        check_against_unfused(ops::functions::QuickGelu{}, with_bias);
        check_against_unfused(ops::functions::Gelu{}, with_bias);
        check_against_unfused(ops::functions::GeluTanh{}, with_bias);
    }
}

TEST_CASE("linear_activation's gradients match finite differences in double") {
    auto fused = [](auto activation) {
        return [activation](const std::vector<Tensor<double>>& x) {
            return ops::linear_activation(x[0], x[1], x[2], activation);
        };
    };
    Tensor<double> x = random_tensor({2, 3, 7}, 5), weight = random_tensor({9, 7}, 6), bias = random_tensor({9}, 7);
    check_gradients(fused(ops::functions::QuickGelu{}), {x, weight, bias});
    check_gradients(fused(ops::functions::Gelu{}), {x, weight, bias});
    check_gradients(fused(ops::functions::GeluTanh{}), {x, weight, bias});
    // Large enough for the pool to split the product (by columns), without a bias: the same gradients
    // as the unfused ops, to double precision.
    Tensor<double> wide = random_tensor({70, 40}, 8).requires_grad_(true),
                   wide_weight = random_tensor({96, 40}, 9).requires_grad_(true);
    Tensor<double> weights = random_tensor({70, 96}, 10);
    ops::sum(ops::quick_gelu(ops::linear(wide, wide_weight)) * weights).backward();
    Tensor<double> x_unfused = wide.grad(), weight_unfused = wide_weight.grad();
    wide.zero_grad();
    wide_weight.zero_grad();
    ops::sum(ops::linear_activation(wide, wide_weight, Tensor<double>(), ops::functions::QuickGelu{}) * weights)
        .backward();
    CHECK(testing::excess(wide.grad(), x_unfused, 1e-12) <= 1e-12);
    CHECK(testing::excess(wide_weight.grad(), weight_unfused, 1e-12) <= 1e-12);
}

TEST_CASE("linear_activation rejects what linear rejects, naming itself") {
    Tensor<float> x = Tensor<float>::ones({4, 5}), weight = Tensor<float>::ones({3, 6}),
                  bias = Tensor<float>::ones({4});
    CHECK_THROWS_WITH_AS(
        ops::linear_activation(x, weight, Tensor<float>(), ops::functions::QuickGelu{}),
        doctest::Contains("linear_activation: input of shape [4, 5] does not fit weight of shape [3, 6]"), Error);
    CHECK_THROWS_WITH_AS(ops::linear_activation(x, Tensor<float>::ones({3, 5}), bias, ops::functions::QuickGelu{}),
                         doctest::Contains("bias of shape [4] does not match"), Error);
    // An empty product runs the unfused ops: the activation of the bias alone.
    Tensor<float> no_inputs = ops::linear_activation(Tensor<float>::ones({2, 0}), Tensor<float>::ones({3, 0}),
                                                     Tensor<float>::full({3}, 1.0f), ops::functions::QuickGelu{});
    CHECK(testing::excess(no_inputs, Tensor<float>::full({2, 3}, float(1 / (1 + std::exp(-1.702)))), 1e-6) <= 1e-7);
}

TEST_CASE("nn::Linear with an activation fuses it, and an MLP's output is the unfused one's") {
    nn::Linear<float> layer(12, 20);
    {
        NoGradGuard no_grad;
        layer.weight.copy_(random_tensor({20, 12}, 10).to<float>());
        layer.bias.copy_(random_tensor({20}, 11).to<float>());
    }
    Tensor<float> x = random_tensor({5, 12}, 12).to<float>();
    for (nn::Activation activation : {nn::Activation::quick_gelu, nn::Activation::gelu, nn::Activation::gelu_tanh})
        CHECK(testing::excess(layer(x, activation), nn::activate(layer(x), activation), 1e-5) <= 1e-6);
}

TEST_CASE("under bfloat16 autocast the fused product reads bfloat16 operands like linear") {
    if (!backend::cpu::cpu_has_avx512_bf16() || backend::cpu::bfloat16_kernel() != backend::cpu::BFloat16Kernel::own) {
        MESSAGE("skipped: this CPU has no AVX512-BF16");
        return;
    }
    Tensor<float> x = random_tensor({130, 60}, 13).to<float>(), weight = random_tensor({100, 60}, 14).to<float>();
    Tensor<float> bias = random_tensor({100}, 15).to<float>();
    Tensor<float> in_float = ops::linear_activation(x, weight, bias, ops::functions::QuickGelu{});
    AutocastGuard autocast(Precision::bfloat16);
    Tensor<float> fused = ops::linear_activation(x, weight, bias, ops::functions::QuickGelu{});
    CHECK(testing::excess(fused, ops::quick_gelu(ops::linear(x, weight, bias)), 1e-5) <= 1e-5);
    CHECK(testing::excess(fused, in_float, 0) > 1e-4);
}

TEST_CASE("attention adds its mask in the softmax's first pass, for each mask layout") {
    // Rows shorter and longer than a SIMD batch, not multiples of it; masks with unit steps along
    // the keys, broadcast along them (one value per query) and strided.
    for (std::int64_t length : {5, 23}) {
        CAPTURE(length);
        Tensor<double> q = random_tensor({1, 2, length, 4}, 16), k = random_tensor({1, 2, length, 4}, 17);
        Tensor<double> v = random_tensor({1, 2, length, 3}, 18);
        Tensor<double> full_mask = random_tensor({2, length, length}, 19, -3, 0);
        std::vector<Tensor<double>> masks{full_mask, random_tensor({length, 1}, 20, -3, 0), full_mask.transpose(1, 2)};
        for (std::size_t layout = 0; layout < masks.size(); ++layout) {
            CAPTURE(layout);
            const Tensor<double>& mask = masks[layout];
            // softmax(q k^T / 2 + mask) v from the separate ops.
            Tensor<double> scores = ops::matmul(q, k.transpose(2, 3)) * 0.5 + mask;
            Tensor<double> expected = ops::matmul(ops::softmax(scores), v);
            CHECK(testing::excess(ops::scaled_dot_product_attention(q, k, v, mask), expected, 1e-12) <= 1e-12);
        }
    }
}
