// Reductions: sum, mean, max over axes; sum_to_shape.
#include "gradcheck.hpp"

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {
// Sum of x over axis `axis` of a rank-3 tensor, by plain loops.
double loop_sum(const Tensor<double>& x, std::int64_t axis, std::int64_t i, std::int64_t j) {
    double total = 0;
    for (std::int64_t k = 0; k < x.size(axis); ++k) {
        std::vector<std::int64_t> index = axis == 0   ? std::vector<std::int64_t>{k, i, j}
                                          : axis == 1 ? std::vector<std::int64_t>{i, k, j}
                                                      : std::vector<std::int64_t>{i, j, k};
        total += x.at(index);
    }
    return total;
}
} // namespace

TEST_CASE("sum over each axis, keepdim, all axes, and views") {
    auto x = random_tensor({3, 4, 5}, 1);
    for (std::int64_t axis = 0; axis < 3; ++axis) {
        auto s = sum(x, {axis});
        Shape expected = x.shape();
        expected.erase(expected.begin() + axis);
        REQUIRE(s.shape() == expected);
        for (std::int64_t i = 0; i < expected[0]; ++i)
            for (std::int64_t j = 0; j < expected[1]; ++j)
                CHECK(s.at({i, j}) == doctest::Approx(loop_sum(x, axis, i, j)).epsilon(1e-12));
        CHECK(sum(x, {axis}, true).dim() == 3);
        check_gradients([axis](const auto& in) { return sum(in[0], {axis}); }, {x});
    }
    double total = 0;
    for (double v : x.to_vector()) total += v;
    CHECK(sum(x).item() == doctest::Approx(total).epsilon(1e-12));
    CHECK(sum(x, {0, 2}).shape() == Shape{4});
    CHECK(sum(x.transpose(0, 2), {0}).at({1, 2}) == doctest::Approx(loop_sum(x, 2, 2, 1)).epsilon(1e-12));
    check_gradients([](const auto& in) { return sum(in[0], {0, 2}, true); }, {x});
    check_gradients([](const auto& in) { return sum(in[0].permute({1, 2, 0}), {-1}); }, {x});
}

TEST_CASE("float sums are accurate over long rows and columns") {
    auto x = Tensor<float>::full({1000000}, 0.1f);
    CHECK(sum(x).item() == doctest::Approx(100000.0).epsilon(1e-6));
    auto columns = Tensor<float>::full({100000, 3}, 0.1f);
    CHECK(sum(columns, {0}).at({2}) == doctest::Approx(10000.0).epsilon(1e-6));
}

TEST_CASE("mean") {
    auto x = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(mean(x).item() == 3.5);
    CHECK(mean(x, {1}).to_vector() == std::vector<double>{2, 5});
    CHECK(mean(x, {0}, true).shape() == Shape{1, 3});
    check_gradients([](const auto& in) { return mean(in[0], {1}); }, {random_tensor({3, 4}, 2)});
    CHECK_THROWS_AS(mean(Tensor<double>::zeros({0, 2}), {0}), Error);
}

TEST_CASE("max along an axis; its gradient goes to the first maximum") {
    auto x = Tensor<double>::from_vector({1, 5, 5, 2, 0, -1}, {2, 3});
    x.requires_grad_();
    auto m = max(x, 1);
    CHECK(m.to_vector() == std::vector<double>{5, 2});
    sum(m).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 1, 0, 1, 0, 0});
    CHECK(max(x, 0, true).shape() == Shape{1, 3});
    CHECK(max(x, 0).to_vector() == std::vector<double>{2, 5, 5});
    check_gradients([](const auto& in) { return max(in[0], 0); }, {random_tensor({4, 3, 2}, 3)});
    check_gradients([](const auto& in) { return max(in[0].transpose(0, 1), -1); }, {random_tensor({4, 3}, 4)});
}

TEST_CASE("sum_to_shape undoes broadcasting") {
    auto g = Tensor<double>::ones({2, 3, 4});
    CHECK(sum_to_shape(g, {4}).to_vector() == std::vector<double>(4, 6.0));
    CHECK(sum_to_shape(g, {3, 1}).to_vector() == std::vector<double>(3, 8.0));
    CHECK(sum_to_shape(g, {2, 3, 4}).shares_storage_with(g));
    CHECK_THROWS_AS(sum_to_shape(g, {5}), Error);
}

TEST_CASE("reductions reject bad axes, naming the op") {
    auto x = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(sum(x, {2}), "sum: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(sum(x, {1, -1}), "sum: axis 1 is listed twice", Error);
    CHECK_THROWS_WITH_AS(max(x, -3), "max: axis -3 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_AS(max(Tensor<float>::zeros({2, 0}), 1), Error);
}
