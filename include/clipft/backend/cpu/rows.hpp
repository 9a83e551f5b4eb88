#pragma once
// Row kernels' building blocks: threading over rows, SIMD passes over one row (map, sum, max,
// exp-sum, mean and variance), and the row tail handled as one SIMD batch so that short rows (77 tokens) pay neither
// scalar exps nor copies. Shared by softmax, layer_norm, l2_normalize, cross_entropy and attention.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/simd.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// Rows of `extent` elements per pool task: row kernels make several passes over a row, some with
// exp, so about 8192 elements (half an element-wise op's grain) already pay for a thread wake-up.
inline std::int64_t rows_per_task(std::int64_t extent) {
    return std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(extent, 1));
}

// Runs body(row) for every row in [0, rows), rows of `extent` elements spread over the pool.
template <typename Body> void parallel_rows(std::int64_t rows, std::int64_t extent, Body&& body) {
    parallel_for(rows, rows_per_task(extent), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) body(row);
    });
}

// The part of a row of n elements that full batches (from the row start) leave over, handled as one
// batch so that short rows (77 tokens) pay neither scalar exps nor copies. A row of at least one
// batch takes its last `width` elements, overlapping the full batches; a shorter row is copied into
// a zero-padded batch. `fresh` marks the lanes holding elements the full batches did not cover.
template <typename T> class RowTail {
public:
    static constexpr std::int64_t width = Batch<T>::size;

    explicit RowTail(std::int64_t n) : n_(n), start_(n >= width ? n - width : 0) {
        alignas(64) static const std::array<T, width> lane = [] {
            std::array<T, width> index{};
            std::iota(index.begin(), index.end(), T(0));
            return index;
        }();
        Batch<T> index = Batch<T>::load_aligned(lane.data());
        fresh = n >= width ? index >= Batch<T>(T(width - n % width)) : index < Batch<T>(T(n));
    }

    Batch<T> load(const T* row) const {
        if (n_ >= width) return Batch<T>::load_unaligned(row + start_);
        alignas(64) T lanes[width] = {};
        std::copy(row, row + n_, lanes);
        return Batch<T>::load_aligned(lanes);
    }
    // Writes the fresh lanes of `values` back to the row.
    void store(const Batch<T>& values, T* row) const {
        if (n_ >= width) {
            xsimd::select(fresh, values, Batch<T>::load_unaligned(row + start_)).store_unaligned(row + start_);
        } else {
            alignas(64) T lanes[width];
            values.store_aligned(lanes);
            std::copy(lanes, lanes + n_, row);
        }
    }

    xsimd::batch_bool<T> fresh;

private:
    std::int64_t n_, start_;
};

// out[i] = f(in0[i], in1[i], ...) over one row, f taking and returning SIMD batches; out may be
// one of the inputs.
template <typename T, typename F, typename... In> void map_row(T* out, std::int64_t n, F f, const In*... in) {
    constexpr std::int64_t width = Batch<T>::size;
    std::int64_t i = 0;
    for (; i + width <= n; i += width) f(Batch<T>::load_unaligned(in + i)...).store_unaligned(out + i);
    if (i == n) return;
    RowTail<T> tail(n);
    tail.store(f(tail.load(in)...), out);
}

// Sum over i < n of f(in0[i], in1[i], ...), f taking and returning SIMD batches.
template <typename T, typename F, typename... In> T row_sum(std::int64_t n, F f, const T* first, const In*... more) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> lanes(T(0));
    std::int64_t i = 0;
    for (; i + width <= n; i += width)
        lanes += f(Batch<T>::load_unaligned(first + i), Batch<T>::load_unaligned(more + i)...);
    if (i < n) {
        RowTail<T> tail(n);
        lanes += xsimd::select(tail.fresh, f(tail.load(first), tail.load(more)...), Batch<T>(T(0)));
    }
    return xsimd::hadd(lanes);
}

template <typename T> T row_dot(const T* a, const T* b, std::int64_t n) {
    return row_sum(
        n, [](auto x, auto y) { return x * y; }, a, b);
}

// The largest of a batch's lanes.
template <typename T> T largest_lane(const Batch<T>& lanes) {
    alignas(64) T values[Batch<T>::size];
    lanes.store_aligned(values);
    return *std::max_element(values, values + Batch<T>::size);
}

// Largest element of a row; -infinity for an empty row. NaNs need no care here: they reach the
// exponentials and make the row NaN, as in PyTorch.
template <typename T> T row_max(const T* x, std::int64_t n) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> lanes(-std::numeric_limits<T>::infinity());
    std::int64_t i = 0;
    for (; i + width <= n; i += width) lanes = xsimd::max(lanes, Batch<T>::load_unaligned(x + i));
    if (i < n) {
        RowTail<T> tail(n);
        lanes =
            xsimd::max(lanes, xsimd::select(tail.fresh, tail.load(x), Batch<T>(-std::numeric_limits<T>::infinity())));
    }
    return largest_lane<T>(lanes);
}

// x[i] += y[i] over one row in the pass that finds the row's largest element (after the addition),
// which it returns.
template <typename T> T row_add_max(T* x, const T* y, std::int64_t n) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> lanes(-std::numeric_limits<T>::infinity());
    std::int64_t i = 0;
    for (; i + width <= n; i += width) {
        Batch<T> sum = Batch<T>::load_unaligned(x + i) + Batch<T>::load_unaligned(y + i);
        sum.store_unaligned(x + i);
        lanes = xsimd::max(lanes, sum);
    }
    if (i < n) {
        // The tail's lanes before the fresh ones already hold their sums: neither stored nor counted again.
        RowTail<T> tail(n);
        Batch<T> sum = tail.load(x) + tail.load(y);
        tail.store(sum, x);
        lanes = xsimd::max(lanes, xsimd::select(tail.fresh, sum, Batch<T>(-std::numeric_limits<T>::infinity())));
    }
    return largest_lane<T>(lanes);
}

// Sum of exp(x[i] - shift), also storing each exponential in `out` when it is not null.
template <typename T> T row_exp_sum(const T* x, std::int64_t n, T shift, T* out) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> lanes(T(0)), shift_lanes(shift);
    std::int64_t i = 0;
    for (; i + width <= n; i += width) {
        Batch<T> e = xsimd::exp(Batch<T>::load_unaligned(x + i) - shift_lanes);
        if (out) e.store_unaligned(out + i);
        lanes += e;
    }
    if (i < n) {
        RowTail<T> tail(n);
        Batch<T> e = xsimd::exp(tail.load(x) - shift_lanes);
        if (out) tail.store(e, out);
        lanes += xsimd::select(tail.fresh, e, Batch<T>(T(0)));
    }
    return xsimd::hadd(lanes);
}

// log(sum(exp(x))) of a row, computed around the row's maximum so that no exponential overflows.
template <typename T> T row_log_sum_exp(const T* x, std::int64_t n) {
    T shift = row_max(x, n);
    return shift + std::log(row_exp_sum(x, n, shift, static_cast<T*>(nullptr)));
}

// Mean and biased variance of a row in one pass. The sums are taken in double around the row's
// first element, so neither float rounding nor the cancellation in E[d^2] - E[d]^2 costs accuracy
// even when the mean is large against the spread; eight independent partial sums let the
// compiler vectorise the loop.
template <typename T> std::pair<double, double> row_mean_variance(const T* x, std::int64_t n) {
    constexpr int lanes = 8;
    double origin = n ? double(x[0]) : 0.0;
    double sums[lanes] = {}, squares[lanes] = {};
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes)
        for (int k = 0; k < lanes; ++k) {
            double d = double(x[i + k]) - origin;
            sums[k] += d;
            squares[k] += d * d;
        }
    double sum = 0, square = 0;
    for (; i < n; ++i) {
        double d = double(x[i]) - origin;
        sum += d;
        square += d * d;
    }
    for (int k = 0; k < lanes; ++k) sum += sums[k], square += squares[k];
    double shifted_mean = sum / double(n);
    return {origin + shifted_mean, std::max(0.0, square / double(n) - shifted_mean * shifted_mean)};
}

} // namespace clipft::backend::cpu
