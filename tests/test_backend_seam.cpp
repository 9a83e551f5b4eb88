// The seam between the ops and the backends: one softmax row kernel with one rule for fully masked
// rows (zeros; log_softmax -inf) shared by softmax(), log_softmax() and attention, and the CUDA
// entry points of a CPU-only translation unit, each failing with the one "no CUDA backend" error.
#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/backend/cuda.hpp>

#include <limits>

using namespace clipft;
using testing::random_tensor;
using clipft::testing::infinity;

namespace {} // namespace

TEST_CASE("a fully masked row: softmax gives zeros, log_softmax -inf, gradients zero") {
    // Row 1 is fully masked; rows 0 and 2 are ordinary and must be untouched by the rule.
    Tensor<double> x = random_tensor({3, 5}, 31, -2, 2);
    for (std::int64_t j = 0; j < 5; ++j) x.data()[5 + j] = -infinity;
    x.requires_grad_();
    Tensor<double> y = softmax(x);
    for (std::int64_t j = 0; j < 5; ++j) CHECK(y.at({1, j}) == 0.0);
    double row0 = 0;
    for (std::int64_t j = 0; j < 5; ++j) row0 += y.at({0, j});
    CHECK(row0 == doctest::Approx(1.0).epsilon(1e-12));
    sum(mul(y, random_tensor({3, 5}, 32))).backward();
    for (std::int64_t j = 0; j < 5; ++j) CHECK(x.grad().at({1, j}) == 0.0);
    for (double g : x.grad().to_vector()) CHECK(std::isfinite(g));

    Tensor<double> log_y = log_softmax(x.detach());
    for (std::int64_t j = 0; j < 5; ++j) CHECK(log_y.at({1, j}) == -infinity);
    for (std::int64_t j = 0; j < 5; ++j)
        CHECK(std::exp(log_y.at({0, j})) == doctest::Approx(y.at({0, j})).epsilon(1e-12));

    // The same rule along a non-trailing axis and in float.
    Tensor<float> columns = Tensor<float>::full({4, 2}, -std::numeric_limits<float>::infinity());
    columns.data()[0] = 1.0f; // column 0 has one finite element, column 1 none
    Tensor<float> by_column = softmax(columns, 0);
    CHECK(by_column.at({0, 0}) == 1.0f);
    for (std::int64_t i = 0; i < 4; ++i) CHECK(by_column.at({i, 1}) == 0.0f);
}

TEST_CASE("attention's probabilities follow softmax()'s rule, fully masked rows included") {
    // The attention output with V = identity is the probability matrix itself.
    Tensor<double> q = random_tensor({1, 1, 3, 2}, 33), k = random_tensor({1, 1, 4, 2}, 34);
    Tensor<double> mask = random_tensor({3, 4}, 35, -1, 1);
    for (std::int64_t j = 0; j < 4; ++j) mask.data()[4 + j] = -infinity; // query 1 sees nothing
    mask.data()[2 * 4 + 3] = -infinity;                                  // query 2 misses key 3
    Tensor<double> identity = Tensor<double>::zeros({1, 1, 4, 4});
    for (std::int64_t j = 0; j < 4; ++j) identity.data()[j * 4 + j] = 1.0;
    Tensor<double> probabilities = scaled_dot_product_attention(q, k, identity, mask, 1.0);
    Tensor<double> scores = add(matmul(q, k.transpose(2, 3)), mask);
    Tensor<double> expected = softmax(scores);
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
            CHECK(probabilities.at({0, 0, i, j}) == doctest::Approx(expected.at({0, 0, i, j})).epsilon(1e-12));
    for (std::int64_t j = 0; j < 4; ++j) CHECK(probabilities.at({0, 0, 1, j}) == 0.0);
}

TEST_CASE("a CPU-only translation unit: every CUDA entry point fails with the one clear error") {
    static_assert(!backend::cuda::available);
    const char* no_backend = "this translation unit has no CUDA backend";
    Device gpu = Device::cuda(0);
    float value = 0;
    CHECK_THROWS_WITH_AS(backend::cuda::allocate(16, gpu), doctest::Contains(no_backend), Error);
    CHECK_THROWS_WITH_AS(backend::cuda::use_device(gpu), doctest::Contains(no_backend), Error);
    CHECK_THROWS_WITH_AS(backend::cuda::softmax_rows(&value, 1, 1, &value, false), doctest::Contains(no_backend),
                         Error);
    CHECK_THROWS_WITH_AS(backend::cuda::zero_matrices(gpu, 1, 1, &value, 1, 0, 1), doctest::Contains(no_backend),
                         Error);
    CHECK_THROWS_WITH_AS(Tensor<float>::zeros({2}, gpu), doctest::Contains(no_backend), Error);
}
