// Element-wise ops: values against the C library, gradients by finite differences, broadcasting.
#include "gradcheck.hpp"

#include <cmath>

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

// Applies `op` to many values (enough to use SIMD bodies and scalar tails on several threads) and
// compares with the scalar formula `expected`.
template <typename T, typename Op, typename Expected>
void check_values(Op op, Expected expected, double low, double high, double tolerance) {
    for (std::int64_t n : {1, 7, 33, 100003}) {
        auto x = random_tensor({n}, unsigned(n), low, high).to<T>();
        auto y = op(x);
        REQUIRE(y.shape() == x.shape());
        double worst = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            double want = expected(double(x.data()[i]));
            worst = std::max(worst, std::abs(double(y.data()[i]) - want) / std::max(1.0, std::abs(want)));
        }
        CHECK(worst <= tolerance);
    }
}

template <typename Op, typename Expected> void check_unary(Op op, Expected expected, double low = -3, double high = 3) {
    check_values<float>(op, expected, low, high, 2e-6);
    check_values<double>(op, expected, low, high, 1e-13);
    check_gradients([&](const auto& in) { return op(in[0]); }, {random_tensor({3, 5}, 9, low, high)});
    check_gradients([&](const auto& in) { return op(in[0].transpose(0, 1)); }, {random_tensor({4, 3}, 10, low, high)});
}

double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

} // namespace

TEST_CASE("unary ops match their formulas and derivatives") {
    check_unary([](auto x) { return neg(x); }, [](double x) { return -x; });
    check_unary([](auto x) { return exp(x); }, [](double x) { return std::exp(x); });
    check_unary([](auto x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 5);
    check_unary([](auto x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.1, 5);
    check_unary([](auto x) { return tanh(x); }, [](double x) { return std::tanh(x); });
    check_unary([](auto x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); });
    check_unary([](auto x) { return gelu(x); }, [](double x) { return x * phi(x); });
    check_unary([](auto x) { return gelu_tanh(x); },
                [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); });
    check_unary([](auto x) { return quick_gelu(x); }, [](double x) { return x / (1 + std::exp(-1.702 * x)); });
    check_unary([](auto x) { return pow(x, 3.0); }, [](double x) { return x * x * x; });
    check_unary([](auto x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, 0.1, 4);
}

TEST_CASE("relu: values and a gradient of 0 or 1") {
    auto x = Tensor<double>::from_vector({-2, -0.5, 0.5, 3});
    x.requires_grad_();
    auto y = relu(x);
    CHECK(y.to_vector() == std::vector<double>{0, 0, 0.5, 3});
    sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 1, 1});
    check_gradients([](const auto& in) { return relu(in[0]); }, {random_tensor({20}, 3, 0.1, 1)});
}

TEST_CASE("abs: values and a gradient of sign(x), 0 at 0") {
    auto x = Tensor<double>::from_vector({-2, -0.5, 0, 0.5, 3});
    x.requires_grad_();
    auto y = ops::abs(x);
    CHECK(y.to_vector() == std::vector<double>{2, 0.5, 0, 0.5, 3});
    sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{-1, -1, 0, 1, 1});
    check_values<float>([](auto v) { return ops::abs(v); }, [](double v) { return std::abs(v); }, -3, 3, 0);
    check_gradients([](const auto& in) { return ops::abs(in[0]); }, {random_tensor({20}, 4, 0.1, 1)});
    check_gradients([](const auto& in) { return ops::abs(in[0]); }, {random_tensor({20}, 5, -1, -0.1)});
}

TEST_CASE("binary ops broadcast like NumPy") {
    auto a = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = Tensor<float>::from_vector({10, 20, 30});
    CHECK((a + b).to_vector() == std::vector<float>{11, 22, 33, 14, 25, 36});
    CHECK((a - b).to_vector() == std::vector<float>{-9, -18, -27, -6, -15, -24});
    CHECK((b * a).to_vector() == std::vector<float>{10, 40, 90, 40, 100, 180});
    auto column = Tensor<float>::from_vector({1, 2}, {2, 1});
    CHECK((a / column).to_vector() == std::vector<float>{1, 2, 3, 2, 2.5, 3});
    CHECK((column + b).shape() == Shape{2, 3});
    CHECK((a * 2.0f).to_vector() == std::vector<float>{2, 4, 6, 8, 10, 12});
    CHECK((1.0f - a).to_vector() == std::vector<float>{0, -1, -2, -3, -4, -5});
    CHECK((6.0f / a).at({1, 2}) == 1.0f);
    CHECK((a.transpose(0, 1) + b.unsqueeze(1)).at({2, 1}) == 36.0f);
}

TEST_CASE("binary ops: every broadcasting layout gives the same values as a plain loop") {
    auto a = random_tensor({4, 1, 5}, 1);
    auto b = random_tensor({3, 1}, 2);
    auto c = a * b;
    REQUIRE(c.shape() == Shape{4, 3, 5});
    for (std::int64_t i = 0; i < 4; ++i)
        for (std::int64_t j = 0; j < 3; ++j)
            for (std::int64_t k = 0; k < 5; ++k) CHECK(c.at({i, j, k}) == a.at({i, 0, k}) * b.at({j, 0}));
    auto big = random_tensor({70000}, 3);
    auto shifted = big + Tensor<double>::scalar(1.0);
    CHECK(shifted.at({69999}) == big.at({69999}) + 1.0);
}

TEST_CASE("binary op gradients, with broadcasting and views") {
    auto a = random_tensor({3, 4}, 4);
    auto b = random_tensor({4}, 5, 0.5, 2);
    auto column = random_tensor({3, 1}, 6, 0.5, 2);
    check_gradients([](const auto& in) { return in[0] + in[1]; }, {a, b});
    check_gradients([](const auto& in) { return in[0] - in[1]; }, {a, column});
    check_gradients([](const auto& in) { return in[0] * in[1]; }, {a, b});
    check_gradients([](const auto& in) { return in[0] / in[1]; }, {a, column});
    check_gradients([](const auto& in) { return in[1] / in[0].transpose(0, 1); },
                    {column, random_tensor({4, 3}, 7, 0.5, 2)});
    check_gradients([](const auto& in) { return in[0] * in[0]; }, {a});
    check_gradients([](const auto& in) { return 2.0 / in[0] - in[0] * 3.0; }, {column});
}

TEST_CASE("binary ops reject shapes that do not broadcast, naming the op and both shapes") {
    auto a = Tensor<float>::zeros({2, 3});
    auto b = Tensor<float>::zeros({4});
    CHECK_THROWS_WITH_AS(add(a, b), "add: shapes [2, 3] and [4] cannot be broadcast together (dimension 1 is 3 vs 4)",
                         Error);
    CHECK_THROWS_WITH_AS(mul(a, b), doctest::Contains("mul: shapes [2, 3] and [4]"), Error);
    CHECK_THROWS_WITH_AS(sub(b, a), doctest::Contains("sub: shapes [4] and [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(div(a, b), doctest::Contains("div: shapes [2, 3] and [4]"), Error);
    CHECK_THROWS_WITH_AS(exp(Tensor<float>()), doctest::Contains("exp"), Error);
}
