#pragma once
// Assertion helpers shared by the test files.
#include <clipft/tensor.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace clipft::testing {

// `actual` has `shape` and, element by element in row-major order, the values `expected` (computed
// independently, e.g. by plain loops in double), to float or double precision.
template <typename T>
void check_values(const Tensor<T>& actual, const Shape& shape, const std::vector<double>& expected) {
    REQUIRE(actual.shape() == shape);
    std::vector<T> values = actual.to_vector();
    REQUIRE(values.size() == expected.size());
    double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t i = 0; i < values.size(); ++i)
        CHECK(double(values[i]) == doctest::Approx(expected[i]).epsilon(tolerance));
}

// Largest |a - b| - relative * |b| over the elements of `actual` against `expected`: a result <= an
// absolute tolerance means every element is within absolute + relative * |expected|.
template <typename T> double excess(const Tensor<T>& actual, const Tensor<T>& expected, double relative) {
    REQUIRE(actual.shape() == expected.shape());
    std::vector<T> a = actual.to_vector(), b = expected.to_vector();
    double worst = -1e300;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(double(a[i]) - double(b[i])) - relative * std::abs(double(b[i])));
    return worst;
}

constexpr double infinity = std::numeric_limits<double>::infinity();

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The message of the clipft::Error that `action` throws.
inline std::string error_message(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "(no clipft::Error thrown)";
}

} // namespace clipft::testing
