// xtensor interoperability: zero-copy views both ways of strides, and copies in.
#include <clipft/ops.hpp>
#include <clipft/xtensor.hpp>

#include <doctest/doctest.h>

using namespace clipft;

TEST_CASE("as_xtensor views a tensor, strides and all, without copying") {
    auto x = Tensor<float>::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
    auto view = as_xtensor(x.transpose(0, 1));
    REQUIRE(view.dimension() == 2);
    CHECK(view.shape()[0] == 3);
    CHECK(view(2, 1) == 5.0f);
    view(0, 1) = 30.0f;
    CHECK(x.at({1, 0}) == 30.0f);
    CHECK(as_xtensor(x.narrow(1, 1, 2))(1, 1) == 5.0f);
}

TEST_CASE("from_xtensor copies an expression into a new tensor") {
    auto x = Tensor<double>::from_vector({1, 2, 3, 4}, {2, 2});
    auto doubled = from_xtensor<double>(as_xtensor(x) * 2.0);
    CHECK(doubled.shape() == Shape{2, 2});
    CHECK(doubled.to_vector() == std::vector<double>{2, 4, 6, 8});
    CHECK_FALSE(doubled.shares_storage_with(x));
}
