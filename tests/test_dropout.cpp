// Inverted dropout: the mask follows the generator's uniform draws, kept values are scaled by
// 1 / (1 - p), and the gradient is the same mask.
#include "gradcheck.hpp"

#include <cmath>
#include <limits>
#include <random>

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

// The mask dropout(p) must draw from a generator seeded with `seed`: element i is dropped when the
// i-th 53-bit uniform of mt19937_64(seed) is below p, else scaled by 1 / (1 - p).
std::vector<double> expected_mask(std::uint64_t seed, std::int64_t count, double p) {
    std::mt19937_64 engine(seed);
    std::vector<double> mask(count);
    for (double& m : mask) m = double(engine() >> 11) / 9007199254740992.0 < p ? 0.0 : 1.0 / (1.0 - p);
    return mask;
}

} // namespace

TEST_CASE("dropout: kept values are scaled, dropped ones are zero, following the generator") {
    auto x = random_tensor({4, 25}, 1);
    Generator generator(99);
    auto y = dropout(x, 0.3, generator);
    auto mask = expected_mask(99, 100, 0.3);
    for (std::int64_t i = 0; i < 100; ++i) CHECK(y.data()[i] == doctest::Approx(x.data()[i] * mask[i]).epsilon(1e-15));
    // A non-contiguous input gets the mask in its row-major order.
    Generator again(99);
    auto transposed = dropout(x.transpose(0, 1), 0.3, again);
    for (std::int64_t i = 0; i < 25; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
            CHECK(transposed.at({i, j}) == doctest::Approx(x.at({j, i}) * mask[i * 4 + j]).epsilon(1e-15));
}

TEST_CASE("dropout: about p of the elements are dropped, the mean is kept") {
    Generator generator(5);
    auto y = dropout(Tensor<float>::ones({100000}), 0.25, generator);
    double zeros = 0, total = 0;
    for (float v : y.to_vector()) {
        zeros += v == 0.0f;
        total += v;
        CHECK((v == 0.0f || v == doctest::Approx(1 / 0.75)));
    }
    CHECK(std::abs(zeros / 100000 - 0.25) < 0.007); // standard error 0.0014
    CHECK(std::abs(total / 100000 - 1.0) < 0.01);
}

TEST_CASE("dropout: identity when not training or p == 0") {
    auto x = random_tensor({3, 3}, 2);
    Generator generator(1);
    auto eval = dropout(x, 0.5, generator, false);
    CHECK(eval.shares_storage_with(x));
    CHECK(eval.to_vector() == x.to_vector());
    CHECK(dropout(x, 0.0, generator).to_vector() == x.to_vector());
    Generator untouched(1); // the identity draws nothing
    CHECK(generator.uniform() == untouched.uniform());
}

TEST_CASE("dropout: the gradient is the mask divided by 1 - p") {
    auto x = random_tensor({6, 7}, 3);
    x.requires_grad_();
    Generator generator(11);
    dropout(x, 0.4, generator).backward(Tensor<double>::ones({6, 7}));
    auto mask = expected_mask(11, 42, 0.4);
    auto grad = x.grad().to_vector();
    for (std::int64_t i = 0; i < 42; ++i) CHECK(grad[i] == doctest::Approx(mask[i]).epsilon(1e-15));
    // Each evaluation reseeds, so every call of f sees the same mask.
    check_gradients(
        [](const auto& in) {
            Generator fixed(12);
            return dropout(in[0], 0.5, fixed);
        },
        {random_tensor({5, 4}, 4)});
}

TEST_CASE("dropout: probability outside [0, 1) is an error") {
    auto x = Tensor<float>::zeros({2, 3});
    Generator generator(1);
    CHECK_THROWS_WITH_AS(dropout(x, 1.0, generator),
                         "dropout: probability 1 for the input of shape [2, 3] is outside [0, 1)", clipft::Error);
    CHECK_THROWS_WITH_AS(dropout(x, -0.1, generator), doctest::Contains("dropout: probability -0.1"), clipft::Error);
    CHECK_THROWS_AS(dropout(x, std::numeric_limits<double>::quiet_NaN(), generator), clipft::Error);
}
