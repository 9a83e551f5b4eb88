// Printing tensors: exact strings for small tensors, summarisation, element types and views.
#include "gradcheck.hpp"

#include <clipft/print.hpp>

#include <cmath>
#include <limits>
#include <sstream>

using namespace clipft;

namespace {

template <typename T> std::string printed(const Tensor<T>& t) {
    std::ostringstream out;
    out << t;
    return out.str();
}

} // namespace

TEST_CASE("print: small floating tensors") {
    auto matrix = Tensor<float>::from_vector({1, 2, 3, 4}, {2, 2});
    CHECK(printed(matrix) == "tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=[2, 2], dtype=float32, device=cpu)");
    auto vector = Tensor<double>::from_vector({-1.5, 0.25, 1.0 / 3});
    CHECK(printed(vector) == "tensor([-1.5000, 0.2500, 0.3333], shape=[3], dtype=float64, device=cpu)");
    CHECK(printed(Tensor<double>::scalar(2.5)) == "tensor(2.5000, shape=[], dtype=float64, device=cpu)");
    CHECK(printed(Tensor<float>()) == "tensor(undefined)");
}

TEST_CASE("print: autograd state") {
    auto x = Tensor<float>::from_vector({1, 2});
    x.requires_grad_();
    CHECK(printed(x) == "tensor([1.0000, 2.0000], shape=[2], dtype=float32, device=cpu, requires_grad)");
    auto y = x * 2.0f;
    CHECK(printed(y) == "tensor([2.0000, 4.0000], shape=[2], dtype=float32, device=cpu, requires_grad, grad_fn=mul)");
}

TEST_CASE("print: integers, 16-bit floats and empty tensors") {
    CHECK(printed(Tensor<std::int64_t>::from_vector({1, -2, 49407})) ==
          "tensor([1, -2, 49407], shape=[3], dtype=int64, device=cpu)");
    CHECK(printed(Tensor<std::uint8_t>::from_vector({65, 255})) ==
          "tensor([65, 255], shape=[2], dtype=uint8, device=cpu)");
    CHECK(printed(Tensor<float>::from_vector({0.1f, -2.0f}).to<Half>()) ==
          "tensor([0.1000, -2.0000], shape=[2], dtype=float16, device=cpu)");
    CHECK(printed(Tensor<float>::from_vector({1.5f, 3.0f}).to<clipft::BFloat16>()) ==
          "tensor([1.5000, 3.0000], shape=[2], dtype=bfloat16, device=cpu)");
    CHECK(printed(Tensor<float>::zeros({0, 3})) == "tensor([], shape=[0, 3], dtype=float32, device=cpu)");
    CHECK(printed(Tensor<float>::zeros({2, 0})) == "tensor([[], []], shape=[2, 0], dtype=float32, device=cpu)");
}

TEST_CASE("print: non-contiguous views print their own elements") {
    auto x = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(printed(x.transpose(0, 1)) ==
          "tensor([[1.0000, 4.0000], [2.0000, 5.0000], [3.0000, 6.0000]], shape=[3, 2], dtype=float32, device=cpu)");
    CHECK(printed(x.select(1, 2)) == "tensor([3.0000, 6.0000], shape=[2], dtype=float32, device=cpu)");
    CHECK(printed(x.narrow(1, 1, 2)) ==
          "tensor([[2.0000, 3.0000], [5.0000, 6.0000]], shape=[2, 2], dtype=float32, device=cpu)");
}

TEST_CASE("print: scientific notation, NaN and infinities") {
    CHECK(printed(Tensor<double>::from_vector({1e-5, 2, 1e9})) ==
          "tensor([1.0000e-05, 2.0000e+00, 1.0000e+09], shape=[3], dtype=float64, device=cpu)");
    double inf = std::numeric_limits<double>::infinity();
    CHECK(printed(Tensor<double>::from_vector({std::nan(""), inf, -inf, 0})) ==
          "tensor([nan, inf, -inf, 0.0000], shape=[4], dtype=float64, device=cpu)");
}

TEST_CASE("print: long axes are summarised to their first and last 3 entries") {
    std::string hundred = printed(Tensor<float>::arange(100));
    CHECK(hundred.find("...") != std::string::npos);
    CHECK(hundred ==
          "tensor([0.0000, 1.0000, 2.0000, ..., 97.0000, 98.0000, 99.0000], shape=[100], dtype=float32, device=cpu)");
    CHECK(printed(Tensor<std::int64_t>::arange(100).reshape({10, 10})) ==
          "tensor([[0, 1, 2, ..., 7, 8, 9], [10, 11, 12, ..., 17, 18, 19], [20, 21, 22, ..., 27, 28, 29], ..., "
          "[70, 71, 72, ..., 77, 78, 79], [80, 81, 82, ..., 87, 88, 89], [90, 91, 92, ..., 97, 98, 99]], "
          "shape=[10, 10], dtype=int64, device=cpu)");
    CHECK(printed(Tensor<std::int64_t>::arange(6)) == "tensor([0, 1, 2, 3, 4, 5], shape=[6], dtype=int64, device=cpu)");
    // Only shown elements choose the notation: the hidden 1e-6 does not switch to scientific.
    auto mostly_large = Tensor<double>::full({7}, 5.0);
    mostly_large.data()[3] = 1e-6;
    CHECK(printed(mostly_large).find("5.0000, ...") != std::string::npos);
}

TEST_CASE("print: options") {
    auto x = Tensor<std::int64_t>::arange(8);
    CHECK(to_string(x, {.summarize = false}) == "tensor([0, 1, 2, 3, 4, 5, 6, 7], shape=[8], dtype=int64, device=cpu)");
    CHECK(to_string(x, {.edge_items = 1}) == "tensor([0, ..., 7], shape=[8], dtype=int64, device=cpu)");
    CHECK(to_string(Tensor<double>::scalar(1.0 / 3), {.precision = 2}) ==
          "tensor(0.33, shape=[], dtype=float64, device=cpu)");
}
