#pragma once
// The math functions of the CLIPFT_HOST_DEVICE functors, for every place those run: SIMD batches
// and scalars on the CPU (xsimd and clipft's own fast erf), scalars in CUDA kernels (CUDA's math
// library). One functor, written once against these, serves both backends.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/backend/host_device.hpp>

#include <cmath>
#include <type_traits>

namespace clipft::inline CLIPFT_BACKENDS::backend::math {

// Whether V is computed by CUDA's math library here: in nvcc's device pass (__CUDA_ARCH__), for
// scalars. Batches stay with xsimd even there, as they only ever run on the host.
#ifdef __CUDA_ARCH__
template <typename V> constexpr bool on_device = std::is_arithmetic_v<V>;
#else
template <typename V> constexpr bool on_device = false;
#endif

template <typename V> CLIPFT_HOST_DEVICE V exp(V x) {
    if constexpr (on_device<V>)
        return ::exp(x);
    else
        return xsimd::exp(x);
}
template <typename V> CLIPFT_HOST_DEVICE V log(V x) {
    if constexpr (on_device<V>)
        return ::log(x);
    else
        return xsimd::log(x);
}
template <typename V> CLIPFT_HOST_DEVICE V sqrt(V x) {
    if constexpr (on_device<V>)
        return ::sqrt(x);
    else
        return xsimd::sqrt(x);
}
template <typename V> CLIPFT_HOST_DEVICE V tanh(V x) {
    if constexpr (on_device<V>)
        return ::tanh(x);
    else
        return xsimd::tanh(x);
}
template <typename V> CLIPFT_HOST_DEVICE V erf(V x) {
    if constexpr (on_device<V>)
        return ::erf(x);
    else
        return cpu::erf(x);
}
template <typename V> CLIPFT_HOST_DEVICE V pow(V x, V exponent) {
    if constexpr (on_device<V>)
        return ::pow(x, exponent);
    else
        return xsimd::pow(x, exponent);
}
// `value` where x > 0, else 0.
template <typename V> CLIPFT_HOST_DEVICE V where_positive(V x, V value) {
    if constexpr (on_device<V>)
        return x > V(0) ? value : V(0);
    else
        return cpu::where_positive(x, value);
}

} // namespace clipft::backend::math
