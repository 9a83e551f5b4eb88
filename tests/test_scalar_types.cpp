// Half / BFloat16 conversions must round to nearest, ties to even, like PyTorch's .Half()/.BFloat16().
#include <clipft/ops.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace clipft;

namespace {

// Every finite non-negative value of a 16-bit type, ascending, with its bit pattern. Built from
// to-float decoding, which the round-trip test below pins down.
template <typename Half> std::vector<std::pair<float, std::uint16_t>> finite_values() {
    std::vector<std::pair<float, std::uint16_t>> values;
    for (std::uint32_t bits = 0; bits < 0x8000u; ++bits) {
        Half h;
        h.bits = std::uint16_t(bits);
        float value = static_cast<float>(h);
        if (std::isfinite(value)) values.push_back({value, std::uint16_t(bits)});
    }
    std::sort(values.begin(), values.end());
    return values;
}

// Reference rounding: the nearest representable value by search, ties to the even bit pattern,
// beyond the largest finite value (by half an ulp or more) to infinity.
template <typename Half>
std::uint16_t reference_round(float x, const std::vector<std::pair<float, std::uint16_t>>& table,
                              std::uint16_t infinity_bits) {
    std::uint16_t sign = std::signbit(x) ? 0x8000u : 0;
    double magnitude = std::abs(double(x));
    auto above = std::lower_bound(table.begin(), table.end(), std::pair<float, std::uint16_t>{float(magnitude), 0},
                                  [](auto a, auto b) { return double(a.first) < double(b.first); });
    if (above == table.end()) {
        double largest = table.back().first;
        double ulp = largest - table[table.size() - 2].first;
        return std::uint16_t(sign | (magnitude >= largest + ulp / 2 ? infinity_bits : table.back().second));
    }
    if (double(above->first) == magnitude || above == table.begin()) return std::uint16_t(sign | above->second);
    auto below = above - 1;
    double down = magnitude - below->first, up = above->first - magnitude;
    if (down < up) return std::uint16_t(sign | below->second);
    if (up < down) return std::uint16_t(sign | above->second);
    return std::uint16_t(sign | ((below->second & 1) ? above->second : below->second));
}

template <typename Half> void check_rounding(std::uint16_t infinity_bits) {
    auto table = finite_values<Half>();
    std::mt19937 engine(7);
    std::uniform_int_distribution<std::uint32_t> any_bits;
    int mismatches = 0;
    for (int i = 0; i < 200000; ++i) {
        float x = std::bit_cast<float>(any_bits(engine));
        if (!std::isfinite(x)) continue;
        // Bias towards the 16-bit type's range so that most draws exercise rounding, not overflow.
        int exponent;
        if (i % 2) x = std::ldexp(std::frexp(x, &exponent), int(i % 40) - 26);
        if (Half(x).bits != reference_round<Half>(x, table, infinity_bits)) ++mismatches;
    }
    CHECK(mismatches == 0);
}

} // namespace

TEST_CASE("Half: known bit patterns, ties to even, overflow, subnormals") {
    CHECK(Half(1.0f).bits == 0x3C00);
    CHECK(Half(-2.0f).bits == 0xC000);
    CHECK(Half(65504.0f).bits == 0x7BFF);
    CHECK(Half(65519.99f).bits == 0x7BFF);
    CHECK(Half(65520.0f).bits == 0x7C00);                     // halfway to the next binade rounds up to inf
    CHECK(Half(std::ldexp(1.0f, -14)).bits == 0x0400);        // smallest normal
    CHECK(Half(std::ldexp(1.0f, -24)).bits == 0x0001);        // smallest subnormal
    CHECK(Half(std::ldexp(1.0f, -25)).bits == 0x0000);        // tie between 0 and 2^-24: even is 0
    CHECK(Half(std::ldexp(3.0f, -25)).bits == 0x0002);        // tie between 1 and 2 ulps: even is 2
    CHECK(Half(1.0f + std::ldexp(1.0f, -11)).bits == 0x3C00); // tie: stays at even 1.0
    CHECK(Half(1.0f + std::ldexp(3.0f, -11)).bits == 0x3C02); // tie: goes up to even
    CHECK(std::isnan(float(Half(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(Half(std::numeric_limits<float>::infinity()).bits == 0x7C00);
}

TEST_CASE("BFloat16: known bit patterns and ties to even") {
    CHECK(BFloat16(1.0f).bits == 0x3F80);
    CHECK(BFloat16(std::bit_cast<float>(0x3F808000u)).bits == 0x3F80); // tie, even stays
    CHECK(BFloat16(std::bit_cast<float>(0x3F818000u)).bits == 0x3F82); // tie, rounds to even
    CHECK(BFloat16(std::bit_cast<float>(0x3F808001u)).bits == 0x3F81); // above the tie
    CHECK(BFloat16(std::bit_cast<float>(0x7F7FFFFFu)).bits == 0x7F80); // rounds to infinity
    CHECK(std::isnan(float(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("Half and BFloat16: every 16-bit value survives a round trip") {
    for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
        Half h;
        h.bits = std::uint16_t(bits);
        BFloat16 b;
        b.bits = std::uint16_t(bits);
        float hf = float(h), bf = float(b);
        if (!std::isnan(hf)) REQUIRE(Half(hf).bits == bits);
        if (!std::isnan(bf)) REQUIRE(BFloat16(bf).bits == bits);
    }
}

TEST_CASE("Half and BFloat16 round like a nearest-value search with ties to even") {
    check_rounding<Half>(0x7C00);
    check_rounding<BFloat16>(0x7F80);
}

TEST_CASE("Tensor::to converts element types") {
    auto x = Tensor<float>::from_vector({1.0f, 0.1f, -65520.0f, 3.0f}, {2, 2});
    auto h = x.to<Half>();
    CHECK(h.shape() == Shape{2, 2});
    CHECK(h.at({0, 0}).bits == 0x3C00);
    CHECK(h.at({1, 0}).bits == 0xFC00);
    auto back = h.transpose(0, 1).to<float>();
    CHECK(back.at({1, 0}) == doctest::Approx(0.1f).epsilon(1e-3));
    CHECK(back.at({0, 1}) == -std::numeric_limits<float>::infinity());
    CHECK(back.at({1, 1}) == 3.0f);
    CHECK(x.to<double>().at({0, 1}) == double(0.1f));
}
