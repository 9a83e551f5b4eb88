#pragma once
// 16-bit floating-point storage types. Arithmetic happens in float; these only hold bits, and the
// conversions from float round to nearest, ties to even, exactly like PyTorch's .half()/.bfloat16().
#include <clipft/backends.hpp>

#include <bit>
#include <cstdint>
#include <type_traits>

namespace clipft::inline CLIPFT_BACKENDS {

struct BFloat16 {
    std::uint16_t bits = 0;

    BFloat16() = default;
    explicit BFloat16(float value) : bits(from_float(value)) {}
    explicit operator float() const { return std::bit_cast<float>(std::uint32_t(bits) << 16); }

    static std::uint16_t from_float(float value) {
        std::uint32_t x = std::bit_cast<std::uint32_t>(value);
        if ((x & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((x >> 16) | 0x0040u); // quiet NaN
        std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
        return std::uint16_t((x + rounding) >> 16);
    }
};

struct Half {
    std::uint16_t bits = 0;

    Half() = default;
    explicit Half(float value) : bits(from_float(value)) {}
    explicit operator float() const { return to_float(bits); }

    static std::uint16_t from_float(float value) {
        std::uint32_t x = std::bit_cast<std::uint32_t>(value);
        std::uint32_t sign = (x >> 16) & 0x8000u;
        std::uint32_t magnitude = x & 0x7fffffffu;
        if (magnitude > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
        if (magnitude >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u); // rounds to infinity
        if (magnitude < 0x38800000u) {
            // Result is subnormal (or zero): value = mantissa * 2^-24. Adding 0.5f shifts the bits so
            // that the float adder performs the round-to-nearest-even for us.
            float shifted = std::bit_cast<float>(magnitude) + 0.5f;
            return std::uint16_t(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3f000000u));
        }
        std::uint32_t odd = (magnitude >> 13) & 1u;
        magnitude += 0xc8000fffu + odd; // rebias exponent (127 -> 15) and round to nearest even
        return std::uint16_t(sign | (magnitude >> 13));
    }

    static float to_float(std::uint16_t h) {
        std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
        std::uint32_t exponent = (h >> 10) & 0x1fu;
        std::uint32_t mantissa = h & 0x3ffu;
        if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
        if (exponent == 0) {
            float value = float(mantissa) * 0x1p-24f; // exact: subnormal halves are multiples of 2^-24
            return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(value));
        }
        return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
};

template <typename T>
concept Floating = std::is_same_v<T, float> || std::is_same_v<T, double>;

// A type a Tensor may store: the computing types, the 16-bit storage types, and integers for ids.
template <typename T>
concept Storable = Floating<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> || std::is_integral_v<T>;

template <typename To, typename From> To convert_scalar(From value) {
    if constexpr (std::is_same_v<To, From>)
        return value;
    else if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>)
        return convert_scalar<To>(static_cast<float>(value));
    else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>)
        return To(static_cast<float>(value));
    else
        return static_cast<To>(value);
}

template <typename T> constexpr const char* type_name();
template <> constexpr const char* type_name<float>() { return "float32"; }
template <> constexpr const char* type_name<double>() { return "float64"; }
template <> constexpr const char* type_name<Half>() { return "float16"; }
template <> constexpr const char* type_name<BFloat16>() { return "bfloat16"; }
template <> constexpr const char* type_name<std::int64_t>() { return "int64"; }
template <> constexpr const char* type_name<std::int32_t>() { return "int32"; }
template <> constexpr const char* type_name<std::uint8_t>() { return "uint8"; }

} // namespace clipft
