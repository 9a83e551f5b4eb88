// Seeded random numbers: reproducibility, the draws' definitions, and sample statistics.
#include "assertions.hpp"
#include "gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

using namespace clipft;

namespace {

struct Moments {
    double mean = 0, std = 0;
};

template <typename T> Moments moments(const Tensor<T>& t) {
    Moments result;
    std::vector<T> values = t.to_vector();
    for (T v : values) result.mean += double(v);
    result.mean /= double(values.size());
    for (T v : values) result.std += (double(v) - result.mean) * (double(v) - result.mean);
    result.std = std::sqrt(result.std / double(values.size() - 1));
    return result;
}

double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi); }
double cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

} // namespace

TEST_CASE("Generator: uniform draws are 53-bit fractions of mt19937_64's output") {
    Generator generator(42);
    std::mt19937_64 engine(42);
    for (int i = 0; i < 1000; ++i) {
        double expected = double(engine() >> 11) / 9007199254740992.0; // 2^53
        double u = generator.uniform();
        REQUIRE(u == expected);
        CHECK(u >= 0.0);
        CHECK(u < 1.0);
    }
    CHECK(generator.initial_seed() == 42);
}

TEST_CASE("Generator: normal draws come in Box-Muller pairs") {
    Generator generator(7);
    std::mt19937_64 engine(7);
    for (int pair = 0; pair < 100; ++pair) {
        double u1 = double(engine() >> 11) / 9007199254740992.0;
        double u2 = double(engine() >> 11) / 9007199254740992.0;
        double radius = std::sqrt(-2 * std::log(1 - u1));
        CHECK(generator.normal() == doctest::Approx(radius * std::cos(2 * std::numbers::pi * u2)).epsilon(1e-15));
        CHECK(generator.normal() == doctest::Approx(radius * std::sin(2 * std::numbers::pi * u2)).epsilon(1e-15));
    }
}

TEST_CASE("Generator: manual_seed restarts the sequence and drops the cached normal") {
    Generator generator(3);
    double first = generator.normal();
    generator.normal();
    generator.normal(); // leaves a cached value behind
    generator.manual_seed(3);
    CHECK(generator.normal() == first);
    Generator defaulted;
    CHECK(defaulted.initial_seed() == Generator::default_seed);
}

TEST_CASE("Generator: uniform_integer and shuffle") {
    Generator generator(11);
    std::vector<int> counts(6, 0);
    for (int i = 0; i < 60000; ++i) {
        std::uint64_t value = generator.uniform_integer(6);
        REQUIRE(value < 6);
        ++counts[value];
    }
    for (int count : counts) CHECK(std::abs(count - 10000) < 500); // ~5 standard deviations
    CHECK(generator.uniform_integer(1) == 0);
    CHECK_THROWS_WITH_AS(generator.uniform_integer(0), doctest::Contains("uniform_integer"), clipft::Error);

    // Fisher-Yates from the last position down, each swap partner drawn as bits % (i + 1) (no
    // rejection happens for such small counts in practice).
    std::vector<int> items(20), expected(20);
    for (int i = 0; i < 20; ++i) items[i] = expected[i] = i;
    Generator shuffler(5);
    shuffle(items, shuffler);
    std::mt19937_64 engine(5);
    for (std::size_t i = expected.size(); i > 1; --i) std::swap(expected[i - 1], expected[engine() % i]);
    CHECK(items == expected);
    std::sort(items.begin(), items.end());
    for (int i = 0; i < 20; ++i) CHECK(items[i] == i);
}

TEST_CASE("randn, uniform, trunc_normal: a seed fixes the values") {
    Generator a(1), b(1), c(2);
    CHECK(randn<float>({4, 5}, a).to_vector() == randn<float>({4, 5}, b).to_vector());
    CHECK(uniform<double>({7}, a).to_vector() == uniform<double>({7}, b).to_vector());
    CHECK(trunc_normal<float>({9}, a).to_vector() == trunc_normal<float>({9}, b).to_vector());
    Generator d(1);
    CHECK(randn<float>({4, 5}, c).to_vector() != randn<float>({4, 5}, d).to_vector());
}

TEST_CASE("randn: sample mean and std match the request") {
    Generator generator(2024);
    auto samples = randn<double>({100000}, generator, 1.5, 2.0);
    Moments m = moments(samples);
    CHECK(std::abs(m.mean - 1.5) < 0.025); // the mean's standard error is 2 / sqrt(1e5) = 0.0063
    CHECK(std::abs(m.std - 2.0) < 0.02);   // the std's standard error is about 0.0045
    Moments f = moments(randn<float>({100000}, generator));
    CHECK(std::abs(f.mean) < 0.0125);
    CHECK(std::abs(f.std - 1.0) < 0.01);
}

TEST_CASE("uniform: values within bounds with the right moments") {
    Generator generator(9);
    auto samples = uniform<float>({100000}, generator, -3.0, 5.0);
    auto values = samples.to_vector();
    CHECK(*std::min_element(values.begin(), values.end()) >= -3.0f);
    CHECK(*std::max_element(values.begin(), values.end()) < 5.0f);
    Moments m = moments(samples);
    CHECK(std::abs(m.mean - 1.0) < 0.04); // standard error 8 / sqrt(12e5) = 0.0073
    CHECK(std::abs(m.std - 8 / std::sqrt(12.0)) < 0.02);
    auto narrow = uniform<float>({1000}, generator, 1.0, 1.0000001).to_vector();
    for (float v : narrow) CHECK((v >= 1.0f && v < 1.0000001f));
}

TEST_CASE("trunc_normal: values within the absolute bounds, moments of the truncated normal") {
    Generator generator(77);
    auto standard = trunc_normal<double>({100000}, generator);
    auto values = standard.to_vector();
    CHECK(*std::min_element(values.begin(), values.end()) >= -2.0);
    CHECK(*std::max_element(values.begin(), values.end()) <= 2.0);
    // Normal(0, 1) on [-2, 2]: variance 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2)).
    Moments m = moments(standard);
    CHECK(std::abs(m.mean) < 0.012);
    CHECK(std::abs(m.std - std::sqrt(1 - 4 * phi(2) / (cdf(2) - cdf(-2)))) < 0.01);

    // One-sided: Normal(1, 0.5) on [1, 10] has mean 1 + 0.5 * phi(0) / (1/2).
    auto half_normal = trunc_normal<float>({100000}, generator, 1.0, 0.5, 1.0, 10.0);
    auto half_values = half_normal.to_vector();
    CHECK(*std::min_element(half_values.begin(), half_values.end()) >= 1.0f);
    CHECK(std::abs(moments(half_normal).mean - (1 + 0.5 * phi(0) / 0.5)) < 0.01);

    // CLIP-style initialisation: std 0.02, bounds +-2 far outside, so nothing is cut.
    Moments clip = moments(trunc_normal<float>({100000}, generator, 0.0, 0.02));
    CHECK(std::abs(clip.std - 0.02) < 0.0003);
}

TEST_CASE("random tensors in 16-bit types are the float draws rounded") {
    Generator a(5), b(5);
    auto h = randn<Half>({50}, a);
    auto f = randn<float>({50}, b);
    for (std::int64_t i = 0; i < 50; ++i) CHECK(h.data()[i].bits == Half(f.data()[i]).bits);
    auto bf = uniform<clipft::BFloat16>({50}, a, -1.0, 1.0).to<float>().to_vector();
    for (float v : bf) CHECK((v >= -1.0f && v <= 1.0f));
}

TEST_CASE("in-place initialisers fill parameters and views in row-major order") {
    auto weight = Tensor<float>::zeros({3, 4});
    weight.requires_grad_();
    Generator generator(8);
    CHECK_THROWS_WITH_AS(normal_(weight, generator), doctest::Contains("NoGradGuard"), clipft::Error);
    {
        NoGradGuard no_grad;
        Generator a(8), b(8);
        normal_(weight, a, 0.5, 0.1);
        CHECK(weight.to_vector() == randn<float>({3, 4}, b, 0.5, 0.1).to_vector());
        CHECK(weight.requires_grad());

        auto view = weight.transpose(0, 1); // [4, 3], not contiguous
        uniform_(view, a, -1.0, 1.0);
        CHECK(view.to_vector() == uniform<float>({4, 3}, b, -1.0, 1.0).to_vector());

        trunc_normal_(weight.narrow(0, 1, 1), a, 0.0, 1.0, -0.5, 0.5);
        auto expected_row = trunc_normal<float>({1, 4}, b, 0.0, 1.0, -0.5, 0.5).to_vector();
        for (std::int64_t j = 0; j < 4; ++j) CHECK(weight.at({1, j}) == expected_row[j]);
    }
}

TEST_CASE("random initialisers reject bad parameters") {
    Generator generator(1);
    CHECK_THROWS_WITH_AS(randn<float>({2}, generator, 0.0, -1.0), doctest::Contains("randn: std"), clipft::Error);
    CHECK_THROWS_WITH_AS(uniform<float>({2}, generator, 1.0, 1.0), doctest::Contains("uniform: the range [1, 1)"),
                         clipft::Error);
    CHECK_THROWS_WITH_AS(trunc_normal<float>({2}, generator, 0.0, 1.0, 3.0, -3.0),
                         doctest::Contains("trunc_normal: bounds"), clipft::Error);
    CHECK_THROWS_WITH_AS(trunc_normal<float>({2}, generator, 0.0, 1.0, 6.0, 7.0),
                         doctest::Contains("closer to the mean"), clipft::Error);
    CHECK_THROWS_AS(trunc_normal<float>({2}, generator, 0.0, 0.0, 1.0, 2.0), clipft::Error);
    CHECK(trunc_normal<float>({2}, generator, 1.5, 0.0, 1.0, 2.0).to_vector() == std::vector<float>{1.5f, 1.5f});
}

TEST_CASE("a generator's saved state continues its exact sequence, cached normal included") {
    Generator original(99);
    original.normal(); // leaves the second value of a Box-Muller pair cached
    Generator copy(1);
    copy.set_state(original.state());
    CHECK(copy.initial_seed() == 99);
    for (int i = 0; i < 5; ++i) {
        CHECK(copy.normal() == original.normal());
        CHECK(copy.next_bits() == original.next_bits());
    }
    CHECK(testing::error_message([&] { copy.set_state("not a state"); }).find("not a generator state") !=
          std::string::npos);
}
