// Indexing ops: embedding, concat, stack, index_select, select_positions, argmax. Values against
// plain loops, gradients by finite differences, and error messages.
#include "gradcheck.hpp"

#include <cmath>
#include <limits>

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

Tensor<std::int64_t> ids_of(const std::vector<std::int64_t>& values, const Shape& shape) {
    return Tensor<std::int64_t>::from_vector(values, shape);
}

} // namespace

// ---- embedding --------------------------------------------------------------------------------

TEST_CASE("embedding: rows picked by ids of any shape") {
    auto weight = random_tensor({5, 3}, 1);
    auto ids = ids_of({4, 0, 4, 2, 1, 4}, {2, 3});
    auto out = embedding(ids, weight);
    REQUIRE(out.shape() == Shape{2, 3, 3});
    for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 3; ++j)
            for (std::int64_t d = 0; d < 3; ++d) CHECK(out.at({i, j, d}) == weight.at({ids.at({i, j}), d}));
    auto single = embedding(Tensor<std::int64_t>::scalar(3), weight.to<float>());
    CHECK(single.shape() == Shape{3});
    CHECK(single.at({1}) == float(weight.at({3, 1})));
    // A non-contiguous weight reads through its strides.
    auto transposed = random_tensor({3, 5}, 2).transpose(0, 1);
    auto picked = embedding(ids_of({1, 3}, {2}), transposed);
    for (std::int64_t d = 0; d < 3; ++d) CHECK(picked.at({1, d}) == transposed.at({3, d}));
}

TEST_CASE("embedding: gradient adds up repeated ids and leaves unused rows exactly zero") {
    auto weight = random_tensor({6, 4}, 3);
    weight.requires_grad_();
    auto ids = ids_of({5, 1, 5, 5, 2, 1}, {3, 2});
    auto out = embedding(ids, weight);
    auto upstream = random_tensor(out.shape(), 4);
    out.backward(upstream);
    auto grad = weight.grad();
    for (std::int64_t row = 0; row < 6; ++row)
        for (std::int64_t d = 0; d < 4; ++d) {
            double expected = 0;
            for (std::int64_t k = 0; k < 6; ++k)
                if (ids.data()[k] == row) expected += upstream.data()[k * 4 + d];
            CHECK(grad.at({row, d}) == doctest::Approx(expected).epsilon(1e-14));
            if (row == 0 || row == 3 || row == 4) CHECK(grad.at({row, d}) == 0.0); // exactly
        }
    check_gradients([&](const auto& in) { return embedding(ids, in[0]); }, {random_tensor({6, 4}, 5)});
    check_gradients([&](const auto& in) { return embedding(ids, in[0].transpose(0, 1)); }, {random_tensor({4, 6}, 6)});
}

TEST_CASE("embedding: a wide table is gathered and scattered on several threads consistently") {
    auto weight = random_tensor({50, 700}, 7); // 700 columns: several column blocks in backward
    weight.requires_grad_();
    std::vector<std::int64_t> values;
    for (int i = 0; i < 300; ++i) values.push_back((i * 7) % 13);
    auto ids = ids_of(values, {300});
    auto out = embedding(ids, weight);
    out.backward(Tensor<double>::ones(out.shape()));
    for (std::int64_t row : {0, 12, 13, 49})
        for (std::int64_t d : {0, 255, 256, 699}) {
            double count = 0;
            for (std::int64_t v : values) count += v == row;
            CHECK(weight.grad().at({row, d}) == count);
        }
    CHECK(out.at({299, 699}) == weight.at({values[299], 699}));
}

TEST_CASE("embedding: errors name the op, the id, its position and the vocabulary size") {
    auto weight = random_tensor({5, 3}, 1);
    CHECK_THROWS_WITH_AS(
        embedding(ids_of({0, 1, 2, 3, 4, 5}, {2, 3}), weight),
        "embedding: id 5 at position [1, 2] of the ids (shape [2, 3]) is out of range for a vocabulary "
        "of 5 rows (weight shape [5, 3]); ids must lie in [0, 5)",
        clipft::Error);
    CHECK_THROWS_WITH_AS(embedding(ids_of({-1}, {1}), weight), doctest::Contains("id -1 at position [0]"),
                         clipft::Error);
    CHECK_THROWS_WITH_AS(embedding(ids_of({0}, {1}), random_tensor({5}, 1)),
                         "embedding: the weight must have rank 2, got shape [5]", clipft::Error);
}

// ---- concat and stack ----------------------------------------------------------------------------

TEST_CASE("concat: values along each axis, including negative axes and views") {
    auto a = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = Tensor<float>::from_vector({7, 8, 9}, {1, 3});
    CHECK(concat<float>({a, b}, 0).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto c = Tensor<float>::from_vector({10, 20}, {2, 1});
    auto joined = concat<float>({a, c, a}, -1);
    REQUIRE(joined.shape() == Shape{2, 7});
    CHECK(joined.to_vector() == std::vector<float>{1, 2, 3, 10, 1, 2, 3, 4, 5, 6, 20, 4, 5, 6});
    auto columns = concat<float>({a.transpose(0, 1), b.transpose(0, 1)}, 1); // two non-contiguous inputs
    CHECK(columns.to_vector() == std::vector<float>{1, 4, 7, 2, 5, 8, 3, 6, 9});
    CHECK(concat<float>({a}, 1).to_vector() == a.to_vector());
    auto ids = concat<std::int64_t>({ids_of({1, 2}, {2}), ids_of({3}, {1})}, 0);
    CHECK(ids.to_vector() == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("concat: gradients split back to each input") {
    for (std::int64_t axis : {0, 1, 2, -1}) {
        Shape sa{2, 3, 4}, sb{2, 3, 4};
        sb[axis < 0 ? 2 : axis] = 2;
        check_gradients(
            [&](const auto& in) {
                return concat<double>({in[0], in[1], in[0]}, axis);
            },
            {random_tensor(sa, 10), random_tensor(sb, 11)});
    }
    check_gradients(
        [](const auto& in) {
            return concat<double>({in[0].transpose(0, 1), in[1]}, 0);
        },
        {random_tensor({3, 2}, 12), random_tensor({4, 3}, 13)});
    // Only inputs that require gradients receive them.
    auto x = random_tensor({2, 2}, 14);
    auto constant = random_tensor({1, 2}, 15);
    x.requires_grad_();
    sum(concat<double>({constant, x}, 0)).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{1, 1, 1, 1});
    CHECK_FALSE(constant.grad().defined());
}

TEST_CASE("concat: errors") {
    auto a = Tensor<float>::zeros({3, 4});
    CHECK_THROWS_WITH_AS(concat<float>({}, 0), "concat: needs at least one tensor, got an empty list", clipft::Error);
    CHECK_THROWS_WITH_AS(concat<float>({a, a, Tensor<float>::zeros({2, 5})}, 1),
                         "concat: tensor 2 has shape [2, 5] but tensor 0 has shape [3, 4]; shapes must be equal except "
                         "along axis 1",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(concat<float>({a, Tensor<float>::zeros({3})}, 0), doctest::Contains("tensor 1 has shape [3]"),
                         clipft::Error);
    CHECK_THROWS_WITH_AS(concat<float>({a}, 2), doctest::Contains("concat: axis 2 is out of range"), clipft::Error);
    CHECK_THROWS_WITH_AS(concat<float>({a, Tensor<float>()}, 0), doctest::Contains("concat: the input is an undefined"),
                         clipft::Error);
}

TEST_CASE("stack: values along a new axis") {
    auto a = Tensor<float>::from_vector({1, 2, 3, 4}, {2, 2});
    auto b = Tensor<float>::from_vector({5, 6, 7, 8}, {2, 2});
    auto first = stack<float>({a, b}, 0);
    REQUIRE(first.shape() == Shape{2, 2, 2});
    CHECK(first.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
    auto last = stack<float>({a, b}, -1);
    REQUIRE(last.shape() == Shape{2, 2, 2});
    CHECK(last.to_vector() == std::vector<float>{1, 5, 2, 6, 3, 7, 4, 8});
    auto middle = stack<float>({a.transpose(0, 1), b, a}, 1);
    REQUIRE(middle.shape() == Shape{2, 3, 2});
    CHECK(middle.to_vector() == std::vector<float>{1, 3, 5, 6, 1, 2, 2, 4, 7, 8, 3, 4});
    auto scalars = stack<double>({Tensor<double>::scalar(1), Tensor<double>::scalar(2)}, 0);
    CHECK(scalars.to_vector() == std::vector<double>{1, 2});
}

TEST_CASE("stack: gradients") {
    for (std::int64_t axis : {0, 1, 2, -2})
        check_gradients(
            [&](const auto& in) {
                return stack<double>({in[0], in[1], in[0]}, axis);
            },
            {random_tensor({3, 2}, 20), random_tensor({3, 2}, 21)});
    check_gradients(
        [](const auto& in) {
            return stack<double>({in[0].transpose(0, 1), in[1]}, 1);
        },
        {random_tensor({4, 3}, 22), random_tensor({3, 4}, 23)});
}

TEST_CASE("stack: errors") {
    auto a = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(stack<float>({}, 0), "stack: needs at least one tensor, got an empty list", clipft::Error);
    CHECK_THROWS_WITH_AS(stack<float>({a, Tensor<float>::zeros({3, 2})}, 0),
                         "stack: tensor 1 has shape [3, 2] but tensor 0 has shape [2, 3]; all shapes must be equal",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(stack<float>({a}, 3), doctest::Contains("stack: axis 3 is out of range"), clipft::Error);
}

// ---- index_select ---------------------------------------------------------------------------------

TEST_CASE("index_select: slices in index order, with repeats, along any axis") {
    auto x = random_tensor({3, 4, 2}, 30);
    auto indices = ids_of({3, 0, 3}, {3});
    auto out = index_select(x, 1, indices);
    REQUIRE(out.shape() == Shape{3, 3, 2});
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t k = 0; k < 3; ++k)
            for (std::int64_t j = 0; j < 2; ++j) CHECK(out.at({i, k, j}) == x.at({i, indices.at({k}), j}));
    auto rows = index_select(x.transpose(0, 2), -1, ids_of({2, 2}, {2})); // [2, 4, 3] view -> [2, 4, 2]
    for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 4; ++j) CHECK(rows.at({i, j, 1}) == x.at({2, j, i}));
    CHECK(index_select(x, 0, ids_of({}, {0})).shape() == Shape{0, 4, 2});
}

TEST_CASE("index_select: gradients scatter-add") {
    auto indices = ids_of({1, 0, 1, 1}, {4});
    for (std::int64_t axis : {0, 1, 2})
        check_gradients([&](const auto& in) { return index_select(in[0], axis, indices); },
                        {random_tensor({2, 3, 2}, 31)});
    check_gradients([&](const auto& in) { return index_select(in[0].transpose(0, 1), 0, indices); },
                    {random_tensor({3, 2}, 32)});
    auto x = Tensor<double>::zeros({3, 2});
    x.requires_grad_();
    sum(index_select(x, 0, indices)).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{1, 1, 3, 3, 0, 0});
}

TEST_CASE("index_select: errors") {
    auto x = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(index_select(x, 1, ids_of({0, 3}, {2})),
                         "index_select: id 3 at position [1] of the ids (shape [2]) is out of range for axis 1 of the "
                         "input of shape [2, 3]",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, ids_of({0, 1}, {1, 2})),
                         "index_select: the indices must have rank 1, got shape [1, 2]", clipft::Error);
    CHECK_THROWS_WITH_AS(index_select(x, 2, ids_of({0}, {1})), doctest::Contains("index_select: axis 2"),
                         clipft::Error);
}

// ---- select_positions -------------------------------------------------------------------------------

TEST_CASE("select_positions: one position per batch row") {
    auto x = random_tensor({3, 5, 4}, 40);
    auto positions = ids_of({4, 0, 2}, {3});
    auto out = select_positions(x, positions);
    REQUIRE(out.shape() == Shape{3, 4});
    for (std::int64_t b = 0; b < 3; ++b)
        for (std::int64_t d = 0; d < 4; ++d) CHECK(out.at({b, d}) == x.at({b, positions.at({b}), d}));
    auto sequence_first = random_tensor({5, 3, 4}, 41); // [L, B, D] permuted to [B, L, D]: strided
    auto strided = select_positions(sequence_first.permute({1, 0, 2}), positions);
    for (std::int64_t b = 0; b < 3; ++b)
        for (std::int64_t d = 0; d < 4; ++d) CHECK(strided.at({b, d}) == sequence_first.at({positions.at({b}), b, d}));
}

TEST_CASE("select_positions: gradient lands at the picked positions only") {
    auto positions = ids_of({4, 0, 2}, {3});
    check_gradients([&](const auto& in) { return select_positions(in[0], positions); }, {random_tensor({3, 5, 4}, 42)});
    check_gradients(
        [&](const auto& in) {
            return select_positions(in[0].permute({1, 0, 2}), positions);
        },
        {random_tensor({5, 3, 4}, 43)});
    auto x = Tensor<double>::zeros({2, 3, 1});
    x.requires_grad_();
    sum(select_positions(x, ids_of({2, 1}, {2}))).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 1, 0, 1, 0});
}

TEST_CASE("select_positions: errors") {
    auto x = Tensor<float>::zeros({2, 3, 4});
    CHECK_THROWS_WITH_AS(select_positions(x, ids_of({0, 1, 2}, {3})),
                         "select_positions: positions of shape [3] do not match the batch of the input of shape "
                         "[2, 3, 4]; pass one position per batch row",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(select_positions(x, ids_of({0, 3}, {2})),
                         doctest::Contains("select_positions: id 3 at position [1]"), clipft::Error);
    CHECK_THROWS_WITH_AS(select_positions(Tensor<float>::zeros({2, 3}), ids_of({0, 1}, {2})),
                         "select_positions: the input must have rank 3, got shape [2, 3]", clipft::Error);
}

// ---- argmax ----------------------------------------------------------------------------------------

TEST_CASE("argmax: first largest entry, as CLIP finds end-of-text tokens") {
    auto ids = ids_of({49406, 320, 49407, 0, 0, 49406, 49407, 0, 0, 0}, {2, 5});
    CHECK(argmax(ids).to_vector() == std::vector<std::int64_t>{2, 1});
    CHECK(argmax(ids, -1, true).shape() == Shape{2, 1});
    auto ties = ids_of({3, 7, 7, 7, 1, 7}, {2, 3});
    CHECK(argmax(ties, 1).to_vector() == std::vector<std::int64_t>{1, 0});
    CHECK(argmax(ties, 0).to_vector() == std::vector<std::int64_t>{1, 0, 0});
    auto large = ids_of({(std::int64_t(1) << 60) + 1, std::int64_t(1) << 60}, {2}); // beyond double precision
    CHECK(argmax(large).item() == 0);
    double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(argmax(Tensor<double>::from_vector({1, nan, 5, nan})).item() == 1);
    CHECK(argmax(Tensor<float>::from_vector({-1, 2.5f, 2.5f}).to<Half>()).item() == 1);
}

TEST_CASE("argmax: errors") {
    CHECK_THROWS_WITH_AS(argmax(Tensor<std::int64_t>::zeros({2, 0})), "argmax: axis 1 of shape [2, 0] is empty",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(argmax(Tensor<std::int64_t>::scalar(1)), doctest::Contains("argmax: the input is 0-d"),
                         clipft::Error);
    CHECK_THROWS_WITH_AS(argmax(ids_of({1, 2}, {2}), 1), doctest::Contains("argmax: axis 1 is out of range"),
                         clipft::Error);
}
