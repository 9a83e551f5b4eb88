#pragma once
// softmax and log_softmax along one axis, as fused row kernels (max, exp-sum, normalise), plus the
// row machinery that the other row-wise ops (l2_normalize, layer_norm, cross_entropy) share:
// viewing a tensor as contiguous rows along an axis, threading over rows, SIMD passes over a row.
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/ops/checks.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

namespace clipft::ops {

namespace detail {

using backend::cpu::Batch;

// Rows of `extent` elements per pool task: row kernels make several passes over a row, some with
// exp, so about 8192 elements (half an element-wise op's grain) already pay for a thread wake-up.
inline std::int64_t rows_per_task(std::int64_t extent) {
    return std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(extent, 1));
}

// Runs body(row) for every row in [0, rows), rows of `extent` elements spread over the pool.
template <typename Body>
void parallel_rows(std::int64_t rows, std::int64_t extent, Body&& body) {
    backend::parallel_for(rows, rows_per_task(extent), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) body(row);
    });
}

// The part of a row of n elements that full batches (from the row start) leave over, handled as one
// batch so that short rows (77 tokens) pay neither scalar exps nor copies. A row of at least one
// batch takes its last `width` elements, overlapping the full batches; a shorter row is copied into
// a zero-padded batch. `fresh` marks the lanes holding elements the full batches did not cover.
template <typename T>
class RowTail {
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
template <typename T, typename F, typename... In>
void map_row(T* out, std::int64_t n, F f, const In*... in) {
    constexpr std::int64_t width = Batch<T>::size;
    std::int64_t i = 0;
    for (; i + width <= n; i += width) f(Batch<T>::load_unaligned(in + i)...).store_unaligned(out + i);
    if (i == n) return;
    RowTail<T> tail(n);
    tail.store(f(tail.load(in)...), out);
}

// Sum over i < n of f(in0[i], in1[i], ...), f taking and returning SIMD batches.
template <typename T, typename F, typename... In>
T row_sum(std::int64_t n, F f, const T* first, const In*... more) {
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

template <typename T>
T row_dot(const T* a, const T* b, std::int64_t n) {
    return row_sum(n, [](auto x, auto y) { return x * y; }, a, b);
}

// Largest element of a row; -infinity for an empty row. NaNs need no care here: they reach the
// exponentials and make the row NaN, as in PyTorch.
template <typename T>
T row_max(const T* x, std::int64_t n) {
    constexpr std::int64_t width = Batch<T>::size;
    Batch<T> lanes(-std::numeric_limits<T>::infinity());
    std::int64_t i = 0;
    for (; i + width <= n; i += width) lanes = xsimd::max(lanes, Batch<T>::load_unaligned(x + i));
    if (i < n) {
        RowTail<T> tail(n);
        lanes = xsimd::max(lanes, xsimd::select(tail.fresh, tail.load(x), Batch<T>(-std::numeric_limits<T>::infinity())));
    }
    alignas(64) T values[width];
    lanes.store_aligned(values);
    return *std::max_element(values, values + width);
}

// Sum of exp(x[i] - shift), also storing each exponential in `out` when it is not null.
template <typename T>
T row_exp_sum(const T* x, std::int64_t n, T shift, T* out) {
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
template <typename T>
T row_log_sum_exp(const T* x, std::int64_t n) {
    T shift = row_max(x, n);
    return shift + std::log(row_exp_sum(x, n, shift, static_cast<T*>(nullptr)));
}

// A tensor seen as `rows` contiguous rows of `extent` elements along one axis: the axis is permuted
// last, which costs a copy only when it is not already last (or the tensor is not contiguous).
class RowsAlong {
public:
    RowsAlong(const char* op, const Shape& shape, std::int64_t axis) {
        std::int64_t rank = std::int64_t(shape.size());
        if (axis < -rank || axis >= rank)
            fail(op, ": axis ", axis, " is out of range for a tensor of shape ", shape, "; use an axis in [",
                 -rank, ", ", rank, ")");
        if (axis < 0) axis += rank;
        extent_ = shape[axis];
        rows_ = 1;
        for (std::int64_t a = 0; a < rank; ++a)
            if (a != axis) order_.push_back(a), rows_ *= shape[a];
        order_.push_back(axis);
        inverse_.resize(rank);
        for (std::int64_t i = 0; i < rank; ++i) inverse_[order_[i]] = i;
    }

    std::int64_t rows() const { return rows_; }
    std::int64_t extent() const { return extent_; }

    // x (unrecorded) as contiguous rows.
    template <typename T>
    Tensor<T> gather(const Tensor<T>& x) const { return dense(x.detach().permute(order_)); }
    // Contiguous rows back in the original layout, as a contiguous tensor.
    template <typename T>
    Tensor<T> scatter(const Tensor<T>& rows) const { return rows.permute(inverse_).contiguous(); }

    // out = kernel applied to every row: kernel(row, n, out_row, in_rows...), threaded over rows.
    // Inputs have the shape this layout was made for; the result has it too.
    template <typename T, typename Kernel, typename... More>
    Tensor<T> map(Kernel kernel, const Tensor<T>& first, const More&... more) const {
        return map_dense(kernel, gather(first), gather(more)...);
    }

private:
    template <typename T, typename Kernel, typename... More>
    Tensor<T> map_dense(Kernel& kernel, const Tensor<T>& first, const More&... more) const {
        Tensor<T> out = Tensor<T>::empty(first.shape(), first.device());
        std::int64_t n = extent_;
        parallel_rows(rows_, n, [&](std::int64_t row) {
            kernel(row, n, out.data() + row * n, first.data() + row * n, (more.data() + row * n)...);
        });
        return scatter(out);
    }

    std::int64_t rows_ = 0, extent_ = 0;
    std::vector<std::int64_t> order_, inverse_;
};

} // namespace detail

// exp(x) / sum(exp(x)) along `axis`, computed with the row maximum subtracted.
template <Floating T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    check_devices("softmax", x);
    detail::RowsAlong layout("softmax", x.shape(), axis);
    Tensor<T> out = layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) {
        T total = detail::row_exp_sum(in, n, detail::row_max(in, n), y);
        detail::map_row(y, n, [scale = T(1) / total](auto v) { return v * decltype(v)(scale); }, y);
    }, x);
    // dx = y * (g - sum(g * y)) per row: only the output is saved.
    record("softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g, const T* y) {
            T dot = detail::row_dot(g, y, n);
            detail::map_row(dx, n, [dot](auto gv, auto yv) { return yv * (gv - decltype(gv)(dot)); }, g, y);
        }, grad, output)};
    });
    return out;
}

// x - log(sum(exp(x))) along `axis`; finite wherever x is, however large.
template <Floating T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis = -1) {
    check_devices("log_softmax", x);
    detail::RowsAlong layout("log_softmax", x.shape(), axis);
    Tensor<T> out = layout.map([](std::int64_t, std::int64_t n, T* y, const T* in) {
        T shift = detail::row_log_sum_exp(in, n);
        detail::map_row(y, n, [shift](auto v) { return v - decltype(v)(shift); }, in);
    }, x);
    // dx = g - exp(y) * sum(g) per row: only the output is saved.
    record("log_softmax", out, {x}, [layout, output = out.detach()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{layout.map([](std::int64_t, std::int64_t n, T* dx, const T* g, const T* y) {
            T total = detail::row_sum(n, [](auto v) { return v; }, g);
            detail::map_row(dx, n, [total](auto gv, auto yv) {
                return gv - xsimd::exp(yv) * decltype(gv)(total);
            }, g, y);
        }, grad, output)};
    });
    return out;
}

} // namespace clipft::ops
