#pragma once
// Element-wise loops over contiguous memory with xsimd: a functor written once for a generic value
// type V runs on SIMD batches for the bulk and on scalars for the tail.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <type_traits>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

template <typename T> using Batch = xsimd::batch<T>;

// Elements per pool task: below this a thread wake-up costs more than it saves.
constexpr std::int64_t elementwise_grain = 16384;

// `value` where x > 0, else 0; for scalars and batches alike.
template <typename V> V where_positive(V x, V value) {
    if constexpr (std::is_arithmetic_v<V>)
        return x > V(0) ? value : V(0);
    else
        return xsimd::select(x > V(0), value, V(0));
}

// erf, fast for float: Abramowitz & Stegun 7.1.26, whose absolute error (below 1.5e-7) is under
// float's resolution near 1, at a fraction of the cost of a full-precision erf. Double keeps
// xsimd's full-precision erf.
template <typename V> V erf(V x) {
    if constexpr (std::is_same_v<V, float> || std::is_same_v<V, Batch<float>>) {
        V a = xsimd::abs(x);
        V t = V(1) / (V(1) + V(0.3275911f) * a);
        V poly = ((((V(1.061405429f) * t + V(-1.453152027f)) * t + V(1.421413741f)) * t + V(-0.284496736f)) * t +
                  V(0.254829592f)) *
                 t;
        V magnitude = V(1) - poly * xsimd::exp(-a * a);
        if constexpr (std::is_same_v<V, float>)
            return x < 0 ? -magnitude : magnitude;
        else
            return xsimd::select(x < V(0), -magnitude, magnitude);
    } else {
        return xsimd::erf(x);
    }
}

// out[i] = f(in0[i], in1[i], ...) for n contiguous elements of every operand.
template <typename T, typename F, typename... In> void map_contiguous(T* out, std::int64_t n, F f, const In*... in) {
    constexpr std::int64_t width = Batch<T>::size;
    parallel_for(n, elementwise_grain, [&](std::int64_t begin, std::int64_t end) {
        std::int64_t i = begin;
        for (; i + width <= end; i += width) f(xsimd::load_unaligned(in + i)...).store_unaligned(out + i);
        for (; i < end; ++i) out[i] = f(in[i]...);
    });
}

// out[i] = f(a[i], b) over n elements, with b the same for all: a row against a broadcast scalar.
template <typename T, typename F> void map_with_scalar_right(T* out, std::int64_t n, F f, const T* a, T b) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> bb(b);
    std::int64_t i = 0;
    for (; i + width <= n; i += width) f(xsimd::load_unaligned(a + i), bb).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = f(a[i], b);
}

template <typename T, typename F> void map_with_scalar_left(T* out, std::int64_t n, F f, T a, const T* b) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> ab(a);
    std::int64_t i = 0;
    for (; i + width <= n; i += width) f(ab, xsimd::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = f(a, b[i]);
}

} // namespace clipft::backend::cpu
