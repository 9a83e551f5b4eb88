#pragma once
// The one softmax row kernel of the CPU backend, used by softmax(), log_softmax() and attention.
// One rule for a fully masked row (every element -inf): softmax gives zeros and log_softmax -inf
// (the logarithm of those zeros), never NaN, so that a query that may attend to nothing contributes
// nothing instead of poisoning the batch; the CUDA kernels follow the same rule.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/rows.hpp>

#include <algorithm>
#include <limits>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// out = softmax(in) over one row of n elements whose largest element is `top`; out may be in.
template <typename T> void softmax_row_with_max(const T* in, std::int64_t n, T top, T* out) {
    if (top == -std::numeric_limits<T>::infinity()) {
        std::fill(out, out + n, T(0));
        return;
    }
    T inverse = T(1) / row_exp_sum(in, n, top, out);
    map_row(
        out, n, [inverse](auto v) { return v * decltype(v)(inverse); }, out);
}

// out = softmax(in) over one row of n elements; out may be in.
template <typename T> void softmax_row(const T* in, std::int64_t n, T* out) {
    softmax_row_with_max(in, n, row_max(in, n), out);
}

// row = softmax(row + mask) in place, for attention's scores: a mask row (null: none; elements
// mask_step apart, 0 for one value broadcast along the row) added in the pass that finds the maximum.
template <typename T> void masked_softmax_row(T* row, const T* mask, std::int64_t mask_step, std::int64_t n) {
    if (mask && mask_step == 1) return softmax_row_with_max(row, n, row_add_max(row, mask, n), row);
    if (mask)
        for (std::int64_t j = 0; j < n; ++j) row[j] += mask[j * mask_step];
    softmax_row(row, n, row);
}

// out = log_softmax(in) over one row; out may be in.
template <typename T> void log_softmax_row(const T* in, std::int64_t n, T* out) {
    T top = row_max(in, n);
    if (top == -std::numeric_limits<T>::infinity()) {
        std::fill(out, out + n, -std::numeric_limits<T>::infinity());
        return;
    }
    T shift = top + std::log(row_exp_sum(in, n, top, static_cast<T*>(nullptr)));
    map_row(
        out, n, [shift](auto v) { return v - decltype(v)(shift); }, in);
}

// The softmax backward of one row from its output y: dx = y * (g - sum(g * y)); dx may be g.
template <typename T> void softmax_backward_row(const T* g, const T* y, std::int64_t n, T* dx) {
    T dot = row_dot(g, y, n);
    map_row(
        dx, n, [dot](auto gv, auto yv) { return yv * (gv - decltype(gv)(dot)); }, g, y);
}

// The log_softmax backward of one row from its output y: dx = g - exp(y) * sum(g); dx may be g.
template <typename T> void log_softmax_backward_row(const T* g, const T* y, std::int64_t n, T* dx) {
    T total = row_sum(
        n, [](auto v) { return v; }, g);
    map_row(
        dx, n, [total](auto gv, auto yv) { return gv - xsimd::exp(yv) * decltype(gv)(total); }, g, y);
}

} // namespace clipft::backend::cpu
