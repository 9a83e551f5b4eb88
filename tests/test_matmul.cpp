#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/ops/matmul.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using testing::check_values;
using clipft::testing::check_gradients;
using clipft::testing::random_tensor;

namespace {

// a @ b by plain loops over Tensor::at (any strides), batch axes broadcast by hand.
template <typename T> std::vector<double> naive_matmul(const Tensor<T>& a, const Tensor<T>& b, const Shape& batch) {
    std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
    std::vector<double> out;
    auto index_into = [&](const Tensor<T>& x, const Shape& position, std::int64_t row, std::int64_t col) {
        std::vector<std::int64_t> index;
        std::size_t lead = batch.size() - std::size_t(x.dim() - 2);
        for (std::size_t axis = lead; axis < batch.size(); ++axis)
            index.push_back(x.shape()[axis - lead] == 1 ? 0 : position[axis]);
        index.push_back(row);
        index.push_back(col);
        return double(x.at(index));
    };
    for (std::int64_t flat = 0; flat < element_count(batch); ++flat) {
        Shape position(batch.size());
        std::int64_t rest = flat;
        for (std::size_t axis = batch.size(); axis-- > 0;) {
            position[axis] = rest % batch[axis];
            rest /= batch[axis];
        }
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
                double total = 0;
                for (std::int64_t p = 0; p < k; ++p)
                    total += index_into(a, position, i, p) * index_into(b, position, p, j);
                out.push_back(total);
            }
    }
    return out;
}

// y = x W^T + b by plain loops; x is read through at().
template <typename T>
std::vector<double> naive_linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
    Tensor<T> rows = x.reshape({-1, x.size(-1)});
    std::vector<double> out;
    for (std::int64_t r = 0; r < rows.size(0); ++r)
        for (std::int64_t o = 0; o < weight.size(0); ++o) {
            double total = bias.defined() ? double(bias.at({o})) : 0.0;
            for (std::int64_t i = 0; i < weight.size(1); ++i)
                total += double(rows.at({r, i})) * double(weight.at({o, i}));
            out.push_back(total);
        }
    return out;
}

template <typename T> Tensor<T> random_of(const Shape& shape, unsigned seed) {
    return random_tensor(shape, seed).template to<T>();
}

} // namespace

TEST_CASE_TEMPLATE("matmul of 2-D matrices matches plain loops", T, float, double) {
    Tensor<T> a = random_of<T>({4, 3}, 1), b = random_of<T>({3, 5}, 2);
    check_values(ops::matmul(a, b), {4, 5}, naive_matmul(a, b, {}));
    Tensor<T> row = random_of<T>({1, 3}, 3), column = random_of<T>({3, 1}, 4);
    check_values(ops::matmul(row, b), {1, 5}, naive_matmul(row, b, {}));
    check_values(ops::matmul(a, column), {4, 1}, naive_matmul(a, column, {}));
    check_values(ops::matmul(column, row), {3, 3}, naive_matmul(column, row, {}));
}

TEST_CASE("matmul of a closed-form 2 x 2 product") {
    auto a = Tensor<double>::from_vector({1, 2, 3, 4}, {2, 2});
    auto b = Tensor<double>::from_vector({5, 6, 7, 8}, {2, 2});
    CHECK(ops::matmul(a, b).to_vector() == std::vector<double>{19, 22, 43, 50});
}

TEST_CASE_TEMPLATE("matmul of transposed and strided views equals that of contiguous copies", T, float, double) {
    Tensor<T> at = random_of<T>({3, 4}, 5), bt = random_of<T>({5, 3}, 6); // stored transposed
    Tensor<T> a = at.transpose(0, 1), b = bt.transpose(0, 1);             // [4, 3] and [3, 5] views
    Tensor<T> ac = a.contiguous(), bc = b.contiguous();
    CHECK_FALSE(a.is_contiguous());
    std::vector<double> expected = naive_matmul(ac, bc, {});
    check_values(ops::matmul(a, bc), {4, 5}, expected);
    check_values(ops::matmul(ac, b), {4, 5}, expected);
    check_values(ops::matmul(a, b), {4, 5}, expected);
    CHECK(ops::matmul(a, b).to_vector() == ops::matmul(ac, bc).to_vector());

    // Rows further apart than their length (a narrowed view of a wider matrix).
    Tensor<T> wide = random_of<T>({4, 7}, 7);
    Tensor<T> narrow = wide.narrow(1, 2, 3);
    check_values(ops::matmul(narrow, bc), {4, 5}, naive_matmul(narrow.contiguous(), bc, {}));
    // A stride-0 broadcast axis, which BLAS cannot read in place.
    Tensor<T> repeated = random_of<T>({1, 3}, 8).expand({4, 3});
    check_values(ops::matmul(repeated, bc), {4, 5}, naive_matmul(repeated.contiguous(), bc, {}));

    // Batched: transpose(-1, -2) of contiguous batches, and a permuted batch axis.
    Tensor<T> batched_a = random_of<T>({2, 3, 4}, 9).transpose(-1, -2);   // [2, 4, 3]
    Tensor<T> batched_b = random_of<T>({3, 2, 5}, 10).permute({1, 0, 2}); // [2, 3, 5]
    std::vector<double> batched = naive_matmul(batched_a.contiguous(), batched_b.contiguous(), {2});
    check_values(ops::matmul(batched_a, batched_b), {2, 4, 5}, batched);
    check_values(ops::matmul(batched_a.contiguous(), batched_b), {2, 4, 5}, batched);
    check_values(ops::matmul(batched_a, batched_b.contiguous()), {2, 4, 5}, batched);
}

TEST_CASE_TEMPLATE("matmul broadcasts batch axes", T, float, double) {
    Tensor<T> a = random_of<T>({2, 3, 4, 5}, 11), b = random_of<T>({5, 6}, 12);
    check_values(ops::matmul(a, b), {2, 3, 4, 6}, naive_matmul(a, b, {2, 3}));
    // The same with a batch that cannot fold into rows (a transposed view).
    Tensor<T> at = random_of<T>({2, 3, 5, 4}, 13).transpose(-1, -2);
    check_values(ops::matmul(at, b), {2, 3, 4, 6}, naive_matmul(at, b, {2, 3}));

    Tensor<T> c = random_of<T>({1, 4, 5}, 14), d = random_of<T>({3, 5, 6}, 15);
    check_values(ops::matmul(c, d), {3, 4, 6}, naive_matmul(c, d, {3}));
    Tensor<T> e = random_of<T>({2, 1, 4, 5}, 16);
    check_values(ops::matmul(e, d), {2, 3, 4, 6}, naive_matmul(e, d, {2, 3}));
    Tensor<T> f = random_of<T>({4, 5}, 17);
    check_values(ops::matmul(f, d), {3, 4, 6}, naive_matmul(f, d, {3}));
    Tensor<T> g = random_of<T>({1, 5, 6}, 18);
    check_values(ops::matmul(a, g), {2, 3, 4, 6}, naive_matmul(a, g, {2, 3}));
}

TEST_CASE("matmul with empty extents") {
    CHECK(ops::matmul(Tensor<double>::ones({2, 0}), Tensor<double>::ones({0, 3})).to_vector() ==
          std::vector<double>(6, 0.0));
    CHECK(ops::matmul(Tensor<double>::ones({0, 4}), Tensor<double>::ones({4, 3})).shape() == Shape{0, 3});
    CHECK(ops::matmul(Tensor<double>::ones({3, 2, 4}), Tensor<double>::ones({4, 0})).shape() == Shape{3, 2, 0});
    CHECK(ops::matmul(Tensor<double>::ones({0, 2, 4}), Tensor<double>::ones({4, 3})).shape() == Shape{0, 2, 3});
}

TEST_CASE("matmul gradients") {
    auto product = [](const std::vector<Tensor<double>>& in) { return ops::matmul(in[0], in[1]); };
    check_gradients(product, {random_tensor({3, 4}, 20), random_tensor({4, 2}, 21)});
    check_gradients(product, {random_tensor({2, 3, 4}, 22), random_tensor({2, 4, 5}, 23)});
    SUBCASE("broadcast batches") {
        check_gradients(product, {random_tensor({2, 3, 4, 5}, 24), random_tensor({5, 2}, 25)});
        check_gradients(product, {random_tensor({1, 4, 5}, 26), random_tensor({3, 5, 6}, 27)});
        check_gradients(product, {random_tensor({4, 5}, 28), random_tensor({2, 5, 3}, 29)});
        check_gradients(product, {random_tensor({2, 1, 3, 4}, 30), random_tensor({3, 4, 2}, 31)});
        check_gradients(product, {random_tensor({2, 3, 4}, 32), random_tensor({1, 4, 2}, 33)});
    }
    SUBCASE("transposed inputs") {
        check_gradients(
            [](const std::vector<Tensor<double>>& in) {
                return ops::matmul(in[0].transpose(0, 1), in[1].transpose(0, 1));
            },
            {random_tensor({4, 3}, 34), random_tensor({2, 4}, 35)});
        check_gradients(
            [](const std::vector<Tensor<double>>& in) { return ops::matmul(in[0].transpose(-1, -2), in[1]); },
            {random_tensor({2, 4, 3}, 36), random_tensor({4, 5}, 37)});
        check_gradients(
            [](const std::vector<Tensor<double>>& in) { return ops::matmul(in[0], in[1].transpose(-1, -2)); },
            {random_tensor({2, 3, 4}, 38), random_tensor({2, 5, 4}, 39)});
    }
    SUBCASE("one operand needs no gradient") {
        Tensor<double> constant = random_tensor({4, 2}, 40);
        check_gradients([&](const std::vector<Tensor<double>>& in) { return ops::matmul(in[0], constant); },
                        {random_tensor({3, 4}, 41)});
        check_gradients(
            [&](const std::vector<Tensor<double>>& in) { return ops::matmul(constant.transpose(0, 1), in[0]); },
            {random_tensor({4, 3}, 42)});
    }
}

TEST_CASE("matmul rejects bad shapes") {
    auto m23 = Tensor<double>::ones({2, 3}), m45 = Tensor<double>::ones({4, 5});
    CHECK_THROWS_WITH_AS(ops::matmul(m23, m45),
                         "matmul: shapes [2, 3] and [4, 5] do not chain: the first has 3 columns, the second 4 rows",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(
        ops::matmul(Tensor<double>::ones({3}), Tensor<double>::ones({3, 2})),
        "matmul: shapes [3] and [3, 2]: both operands need rank >= 2 (matrices or batches of matrices); "
        "unsqueeze a vector into a [1, n] or [n, 1] matrix",
        clipft::Error);
    CHECK_THROWS_WITH_AS(ops::matmul(Tensor<double>::ones({2, 4, 3}), Tensor<double>::ones({3, 3, 5})),
                         "matmul: shapes [2, 4, 3] and [3, 3, 5] have batch axes (all but the last two) that cannot be "
                         "broadcast together; each pair must be equal or 1",
                         clipft::Error);
}

TEST_CASE_TEMPLATE("linear matches plain loops", T, float, double) {
    Tensor<T> weight = random_of<T>({4, 3}, 50), bias = random_of<T>({4}, 51);
    Tensor<T> x = random_of<T>({2, 5, 3}, 52);
    check_values(ops::linear(x, weight, bias), {2, 5, 4}, naive_linear(x, weight, bias));
    check_values(ops::linear(x, weight), {2, 5, 4}, naive_linear(x, weight, Tensor<T>()));
    Tensor<T> vector = random_of<T>({3}, 53);
    check_values(ops::linear(vector, weight, bias), {4}, naive_linear(vector.unsqueeze(0), weight, bias));
    // Non-contiguous input and a transposed weight view.
    Tensor<T> xt = random_of<T>({3, 5}, 54).transpose(0, 1);
    Tensor<T> wt = random_of<T>({3, 4}, 55).transpose(0, 1);
    check_values(ops::linear(xt, wt, bias), {5, 4}, naive_linear(xt.contiguous(), wt.contiguous(), bias));
    Tensor<T> narrow = random_of<T>({5, 8}, 56).narrow(1, 4, 3);
    check_values(ops::linear(narrow, weight, bias), {5, 4}, naive_linear(narrow.contiguous(), weight, bias));
}

TEST_CASE("linear with no input features gives the bias") {
    auto out =
        ops::linear(Tensor<double>::ones({2, 0}), Tensor<double>::ones({3, 0}), Tensor<double>::from_vector({1, 2, 3}));
    CHECK(out.to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
    CHECK(ops::linear(Tensor<double>::ones({2, 0}), Tensor<double>::ones({3, 0})).to_vector() ==
          std::vector<double>(6, 0.0));
}

TEST_CASE("linear gradients") {
    auto with_bias = [](const std::vector<Tensor<double>>& in) { return ops::linear(in[0], in[1], in[2]); };
    auto without_bias = [](const std::vector<Tensor<double>>& in) { return ops::linear(in[0], in[1]); };
    check_gradients(with_bias, {random_tensor({5, 3}, 60), random_tensor({4, 3}, 61), random_tensor({4}, 62)});
    check_gradients(with_bias, {random_tensor({2, 5, 3}, 63), random_tensor({4, 3}, 64), random_tensor({4}, 65)});
    check_gradients(without_bias, {random_tensor({2, 5, 3}, 66), random_tensor({4, 3}, 67)});
    check_gradients(with_bias, {random_tensor({3}, 68), random_tensor({4, 3}, 69), random_tensor({4}, 70)});
    check_gradients(
        [](const std::vector<Tensor<double>>& in) {
            return ops::linear(in[0].transpose(0, 1), in[1].transpose(0, 1), in[2]);
        },
        {random_tensor({3, 5}, 71), random_tensor({3, 4}, 72), random_tensor({4}, 73)});
}

TEST_CASE("linear rejects bad shapes") {
    auto x = Tensor<double>::ones({2, 3});
    CHECK_THROWS_WITH_AS(ops::linear(x, Tensor<double>::ones({3, 4})),
                         "linear: input of shape [2, 3] does not fit weight of shape [3, 4]; the weight must be "
                         "[out_features, in_features] with in_features the input's last extent",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, Tensor<double>::ones({4, 3, 1})),
                         "linear: input of shape [2, 3] does not fit weight of shape [4, 3, 1]; the weight must be "
                         "[out_features, in_features] with in_features the input's last extent",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, Tensor<double>::ones({4, 3}), Tensor<double>::ones({3})),
                         "linear: bias of shape [3] does not match weight of shape [4, 3]; it must be [4]",
                         clipft::Error);
}
