// softmax and log_softmax: values against plain loops, stability, gradients, bad axes.
#include "gradcheck.hpp"

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

// softmax of every row of a contiguous [rows, n] buffer, by the textbook formula.
std::vector<double> reference_softmax(const std::vector<double>& x, std::int64_t n) {
    std::vector<double> y(x.size());
    for (std::size_t start = 0; start < x.size(); start += std::size_t(n)) {
        double total = 0;
        for (std::int64_t j = 0; j < n; ++j) total += std::exp(x[start + j]);
        for (std::int64_t j = 0; j < n; ++j) y[start + j] = std::exp(x[start + j]) / total;
    }
    return y;
}

} // namespace

TEST_CASE("softmax rows sum to one and match exp(x) / sum(exp(x)), across SIMD widths and tails") {
    for (std::int64_t n : {1, 5, 16, 37}) {
        Tensor<double> x = random_tensor({3, n}, 7, -4, 4);
        std::vector<double> expected = reference_softmax(x.to_vector(), n);
        std::vector<double> y = softmax(x).to_vector();
        Tensor<float> y32 = softmax(x.to<float>());
        REQUIRE(y.size() == expected.size());
        for (std::size_t i = 0; i < y.size(); ++i) {
            CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-12));
            CHECK(y32.data()[i] == doctest::Approx(expected[i]).epsilon(1e-5));
        }
        for (std::int64_t row = 0; row < 3; ++row) {
            double total = 0;
            for (std::int64_t j = 0; j < n; ++j) total += y[row * n + j];
            CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
        }
    }
}

TEST_CASE("softmax along axis 0 normalises columns; the result is contiguous") {
    Tensor<double> x = Tensor<double>::from_vector({1, 2, 3, 4, 0, -1}, {2, 3});
    Tensor<double> y = softmax(x, 0);
    CHECK(y.shape() == Shape{2, 3});
    CHECK(y.is_contiguous());
    for (std::int64_t c = 0; c < 3; ++c) {
        double a = x.at({0, c}), b = x.at({1, c});
        CHECK(y.at({0, c}) == doctest::Approx(std::exp(a) / (std::exp(a) + std::exp(b))));
        CHECK(y.at({1, c}) == doctest::Approx(std::exp(b) / (std::exp(a) + std::exp(b))));
    }
}

TEST_CASE("softmax and log_softmax of huge logits stay finite") {
    Tensor<float> x = Tensor<float>::from_vector({1000, 1001, 1002});
    std::vector<float> y = log_softmax(x).to_vector();
    double log_total = std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0);
    CHECK(y[0] == doctest::Approx(-2.0 - log_total));
    CHECK(y[1] == doctest::Approx(-1.0 - log_total));
    CHECK(y[2] == doctest::Approx(-log_total));
    std::vector<float> p = softmax(x).to_vector();
    CHECK(p[2] == doctest::Approx(1.0 / (std::exp(-2.0) + std::exp(-1.0) + 1.0)));
    Tensor<float> low = Tensor<float>::from_vector({-1000, -1001});
    for (float v : log_softmax(low).to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("log_softmax equals x - log(sum(exp(x))) on a non-contiguous input") {
    Tensor<double> base = random_tensor({5, 4}, 3, -3, 3);
    Tensor<double> x = base.transpose(0, 1); // [4, 5], rows strided
    Tensor<double> y = log_softmax(x);
    for (std::int64_t r = 0; r < 4; ++r) {
        double total = 0;
        for (std::int64_t j = 0; j < 5; ++j) total += std::exp(x.at({r, j}));
        for (std::int64_t j = 0; j < 5; ++j) CHECK(y.at({r, j}) == doctest::Approx(x.at({r, j}) - std::log(total)));
    }
}

TEST_CASE("softmax gradients: last axis, axis 0, a middle axis of a 3-D tensor, a transposed input") {
    check_gradients([](const auto& in) { return softmax(in[0]); }, {random_tensor({3, 37}, 1)});
    check_gradients([](const auto& in) { return softmax(in[0], 0); }, {random_tensor({4, 3}, 2)});
    check_gradients([](const auto& in) { return softmax(in[0], 1); }, {random_tensor({2, 3, 4}, 3)});
    check_gradients([](const auto& in) { return softmax(in[0].transpose(0, 1)); }, {random_tensor({5, 3}, 4)});
}

TEST_CASE("log_softmax gradients: last axis, axis 0, a middle axis of a 3-D tensor, a transposed input") {
    check_gradients([](const auto& in) { return log_softmax(in[0]); }, {random_tensor({3, 37}, 5)});
    check_gradients([](const auto& in) { return log_softmax(in[0], 0); }, {random_tensor({4, 3}, 6)});
    check_gradients([](const auto& in) { return log_softmax(in[0], -2); }, {random_tensor({2, 3, 4}, 7)});
    check_gradients([](const auto& in) { return log_softmax(in[0].transpose(0, 1)); }, {random_tensor({5, 3}, 8)});
}

TEST_CASE("softmax and log_softmax reject an axis out of range, naming the op and the shape") {
    Tensor<float> x = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(softmax(x, 2),
                         "softmax: axis 2 is out of range for a tensor of shape [2, 3]; use an axis in [-2, 2)", Error);
    CHECK_THROWS_WITH_AS(log_softmax(x, -3),
                         doctest::Contains("log_softmax: axis -3 is out of range for a tensor of shape [2, 3]"), Error);
    CHECK_THROWS_AS(softmax(Tensor<float>::scalar(1.0f)), Error);
}
