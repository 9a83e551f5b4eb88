// l2_normalize: unit norms, the eps floor, gradients on both sides of it, bad arguments.
#include "gradcheck.hpp"

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

TEST_CASE("l2_normalize gives unit rows equal to x / ||x||, in float and double") {
    Tensor<double> x = random_tensor({4, 37}, 11, -2, 2);
    Tensor<double> y = l2_normalize(x);
    Tensor<float> y32 = l2_normalize(x.to<float>());
    for (std::int64_t r = 0; r < 4; ++r) {
        double squares = 0;
        for (std::int64_t j = 0; j < 37; ++j) squares += x.at({r, j}) * x.at({r, j});
        double norm = std::sqrt(squares), unit = 0;
        for (std::int64_t j = 0; j < 37; ++j) {
            CHECK(y.at({r, j}) == doctest::Approx(x.at({r, j}) / norm).epsilon(1e-12));
            CHECK(y32.at({r, j}) == doctest::Approx(x.at({r, j}) / norm).epsilon(1e-5));
            unit += y.at({r, j}) * y.at({r, j});
        }
        CHECK(unit == doctest::Approx(1.0).epsilon(1e-12));
    }
}

TEST_CASE("l2_normalize along axis 0 normalises columns") {
    Tensor<double> x = Tensor<double>::from_vector({3, 0, 4, 2}, {2, 2});
    Tensor<double> y = l2_normalize(x, 0);
    std::vector<double> expected{0.6, 0.0, 0.8, 1.0};
    for (std::size_t i = 0; i < expected.size(); ++i)
        CHECK(y.to_vector()[i] == doctest::Approx(expected[i]).epsilon(1e-15));
}

TEST_CASE("a zero vector stays zero and finite, forward and backward") {
    Tensor<float> x = Tensor<float>::zeros({2, 3});
    x.data()[3] = 2.0f;
    x.requires_grad_();
    Tensor<float> y = l2_normalize(x);
    CHECK(y.to_vector() == std::vector<float>{0, 0, 0, 1, 0, 0});
    sum(y).backward();
    for (float g : x.grad().to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("l2_normalize gradients: last axis, axis 0, a transposed input, and norms below eps") {
    check_gradients([](const auto& in) { return l2_normalize(in[0]); }, {random_tensor({3, 37}, 12)});
    check_gradients([](const auto& in) { return l2_normalize(in[0], 0); }, {random_tensor({4, 3}, 13)});
    check_gradients([](const auto& in) { return l2_normalize(in[0].transpose(0, 1), 1); },
                    {random_tensor({5, 2, 3}, 14)});
    // Norms of 3 values in [-1, 1] are below 10: the divisor is the constant eps.
    check_gradients([](const auto& in) { return l2_normalize(in[0], -1, 10.0); }, {random_tensor({2, 3}, 15)});
}

TEST_CASE("l2_normalize rejects a bad axis or eps, naming the op and the shape") {
    Tensor<float> x = Tensor<float>::ones({2, 3});
    CHECK_THROWS_WITH_AS(l2_normalize(x, 2),
                         doctest::Contains("l2_normalize: axis 2 is out of range for a tensor of shape [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(l2_normalize(x, -1, 0.0),
                         doctest::Contains("l2_normalize: eps must be positive, got 0 (tensor of shape [2, 3])"),
                         Error);
}
