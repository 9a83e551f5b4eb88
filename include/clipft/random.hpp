#pragma once
// Seeded random numbers that are the same on every platform. std::mt19937_64's output sequence is
// fixed by the C++ standard, but the standard distributions (normal, uniform_int, shuffle) are not,
// so every draw from the engine's bits is implemented here. Uniform draws and integers are
// bit-identical everywhere; normal draws go through std::log/std::cos/std::sin and so can differ in
// the last bit between C libraries.
#include <clipft/backends.hpp>
#include <clipft/tensor.hpp>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS {

// Not thread-safe: give each thread its own Generator.
class Generator {
public:
    static constexpr std::uint64_t default_seed = 67280421310721ull; // PyTorch's default seed

    explicit Generator(std::uint64_t seed = default_seed) { manual_seed(seed); }

    void manual_seed(std::uint64_t seed) {
        seed_ = seed;
        engine_.seed(seed);
        has_cached_normal_ = false;
    }
    std::uint64_t initial_seed() const { return seed_; }

    std::uint64_t next_bits() { return engine_(); }

    // Uniform in [0, 1) with 53 random bits: every double of the form k / 2^53.
    double uniform() { return double(engine_() >> 11) * 0x1p-53; }

    // Standard normal by the Box-Muller transform; each pair of uniforms yields two values, the
    // second of which is kept for the next call.
    double normal() {
        if (has_cached_normal_) {
            has_cached_normal_ = false;
            return cached_normal_;
        }
        double radius = std::sqrt(-2.0 * std::log(1.0 - uniform())); // 1 - u is in (0, 1]: log is finite
        double angle = 2.0 * std::numbers::pi * uniform();
        cached_normal_ = radius * std::sin(angle);
        has_cached_normal_ = true;
        return radius * std::cos(angle);
    }

    // Uniform integer in [0, count), unbiased (rejects the top partial block of 2^64 values).
    std::uint64_t uniform_integer(std::uint64_t count) {
        if (count == 0) fail("Generator::uniform_integer: the count must be at least 1");
        std::uint64_t limit = std::uint64_t(-1) - std::uint64_t(-1) % count;
        for (;;) {
            std::uint64_t bits = engine_();
            if (bits < limit) return bits % count;
        }
    }

    // The whole state as text (the engine's standard text form and the cached normal), for
    // checkpoints: set_state(state()) continues the exact sequence.
    std::string state() const {
        std::ostringstream out;
        out << seed_ << ' ' << has_cached_normal_ << ' ' << std::hexfloat << cached_normal_ << ' ' << engine_;
        return out.str();
    }
    void set_state(const std::string& state) {
        std::istringstream in(state);
        std::uint64_t seed = 0;
        bool has_cached = false;
        double cached = 0;
        std::mt19937_64 engine;
        std::string cached_text;
        in >> seed >> has_cached >> cached_text >> engine;
        cached = std::strtod(cached_text.c_str(), nullptr); // istream cannot read hexfloat portably
        if (in.fail())
            fail("Generator::set_state: not a generator state (from Generator::state): '", state.substr(0, 40), "...'");
        seed_ = seed;
        has_cached_normal_ = has_cached;
        cached_normal_ = cached;
        engine_ = engine;
    }

private:
    std::mt19937_64 engine_;
    std::uint64_t seed_ = default_seed;
    double cached_normal_ = 0.0;
    bool has_cached_normal_ = false;
};

// Fisher-Yates shuffle with Generator::uniform_integer, the same permutation on every platform
// (std::shuffle's algorithm is left to each standard library).
template <typename Item> void shuffle(std::vector<Item>& items, Generator& generator) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[generator.uniform_integer(i)]);
}

template <typename T>
concept FloatingStorable = Floating<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

namespace detail {

// A contiguous tensor filled element by element in row-major order. Drawing is sequential, never on
// the thread pool, so the values do not depend on the thread count.
template <FloatingStorable T, typename Draw> Tensor<T> draw_tensor(const Shape& shape, Draw draw) {
    Tensor<T> result = Tensor<T>::empty(shape);
    T* out = result.data();
    for (std::int64_t i = 0; i < result.numel(); ++i) out[i] = convert_scalar<T>(draw());
    return result;
}

inline void check_std(const char* op, double std) {
    if (!(std >= 0.0) || !std::isfinite(std)) fail(op, ": std must be finite and >= 0, got ", std);
}

inline void check_range(const char* op, double low, double high) {
    if (!std::isfinite(low) || !std::isfinite(high) || !(low < high))
        fail(op, ": the range [", low, ", ", high, ") is empty or not finite; pass finite low < high");
}

// Standard normal CDF, accurate in both tails.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

} // namespace detail

// Normal(mean, std) samples.
template <FloatingStorable T>
Tensor<T> randn(const Shape& shape, Generator& generator, double mean = 0.0, double std = 1.0) {
    detail::check_std("randn", std);
    return detail::draw_tensor<T>(shape, [&] { return mean + std * generator.normal(); });
}

// Uniform samples in [low, high). For float and double a value that rounds up to `high` is moved to
// the largest value below it; float16/bfloat16 may round to `high` itself.
template <FloatingStorable T>
Tensor<T> uniform(const Shape& shape, Generator& generator, double low = 0.0, double high = 1.0) {
    detail::check_range("uniform", low, high);
    return detail::draw_tensor<T>(shape, [&] {
        double value = low + (high - low) * generator.uniform();
        if constexpr (Floating<T>)
            if (T(value) >= T(high)) return double(std::nextafter(T(high), T(low)));
        return value;
    });
}

// Normal(mean, std) conditioned on [low, high], with absolute bounds like PyTorch's trunc_normal_.
// Sampled by rejection (draw normals until one falls inside), which is exact; bounds that hold less
// than 0.1% of the distribution's mass are refused because rejection would take too long there.
template <FloatingStorable T>
Tensor<T> trunc_normal(const Shape& shape, Generator& generator, double mean = 0.0, double std = 1.0, double low = -2.0,
                       double high = 2.0) {
    detail::check_std("trunc_normal", std);
    if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high))
        fail("trunc_normal: bounds [", low, ", ", high, "] are empty or not finite; pass finite low <= high");
    if (std == 0.0 ? (mean < low || mean > high)
                   : detail::normal_cdf((high - mean) / std) - detail::normal_cdf((low - mean) / std) < 1e-3)
        fail("trunc_normal: bounds [", low, ", ", high, "] hold less than 0.1% of Normal(mean=", mean, ", std=", std,
             "); choose bounds closer to the mean");
    return detail::draw_tensor<T>(shape, [&] {
        for (;;) {
            double value = mean + std * generator.normal();
            if (value >= low && value <= high) return value;
        }
    });
}

// In-place forms, for initialising existing tensors such as parameters (inside a NoGradGuard when
// they require gradients). Values are drawn in the tensor's row-major order whatever its strides.
// The tensor is taken and returned as a handle, so views and temporaries can be filled too.
template <FloatingStorable T>
Tensor<T> normal_(Tensor<T> tensor, Generator& generator, double mean = 0.0, double std = 1.0) {
    return tensor.copy_(randn<T>(tensor.shape(), generator, mean, std));
}

template <FloatingStorable T>
Tensor<T> uniform_(Tensor<T> tensor, Generator& generator, double low = 0.0, double high = 1.0) {
    return tensor.copy_(uniform<T>(tensor.shape(), generator, low, high));
}

template <FloatingStorable T>
Tensor<T> trunc_normal_(Tensor<T> tensor, Generator& generator, double mean = 0.0, double std = 1.0, double low = -2.0,
                        double high = 2.0) {
    return tensor.copy_(trunc_normal<T>(tensor.shape(), generator, mean, std, low, high));
}

} // namespace clipft
