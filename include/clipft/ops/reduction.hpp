#pragma once
// Reductions over axes: sum, mean, max, and sum_to_shape (how broadcasting is undone in backward).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/backend/cpu/sum.hpp>
#include <clipft/ops/checks.hpp>
#include <clipft/ops/indexing.hpp>

#include <algorithm>
#include <limits>

namespace clipft::inline CLIPFT_BACKENDS::ops {

template <Floating T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);

namespace detail {

// Which axes a reduction removes; an empty list means all of them.
inline std::vector<bool> reduced_axes(const char* op, std::vector<std::int64_t> axes, std::int64_t rank) {
    std::vector<bool> reduced(rank, axes.empty());
    for (std::int64_t axis : axes) {
        axis = normalize_axis(op, axis, rank);
        if (reduced[axis]) fail(op, ": axis ", axis, " is listed twice");
        reduced[axis] = true;
    }
    return reduced;
}

inline Shape reduced_shape(const Shape& shape, const std::vector<bool>& reduced, bool keepdim) {
    Shape result;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (!reduced[axis])
            result.push_back(shape[axis]);
        else if (keepdim)
            result.push_back(1);
    }
    return result;
}

// Sums the reduced axes of x; the result has the keepdim shape. Contiguous inputs whose reduced
// axes are all trailing (row sums) or all leading (column sums) are summed in place; anything else
// is first permuted so that the reduced axes trail.
template <Floating T> Tensor<T> sum_kernel(const Tensor<T>& x, const std::vector<bool>& reduced) {
    std::int64_t rank = x.dim();
    Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), reduced, true), x.device());
    std::int64_t first_reduced = rank, last_reduced = -1;
    for (std::int64_t axis = 0; axis < rank; ++axis)
        if (reduced[axis] && x.shape()[axis] != 1) first_reduced = std::min(first_reduced, axis), last_reduced = axis;
    if (last_reduced < 0) { // nothing to add up
        Tensor<T>::copy_values(out, x);
        return out;
    }
    bool trailing = true, leading = true;
    for (std::int64_t axis = 0; axis < rank; ++axis) {
        bool summed = reduced[axis] && x.shape()[axis] != 1;
        if (!summed && x.shape()[axis] != 1 && axis > first_reduced) trailing = false;
        if (!summed && x.shape()[axis] != 1 && axis < last_reduced) leading = false;
    }
    if (!x.is_contiguous() || (!trailing && !leading)) {
        std::vector<std::int64_t> order;
        std::vector<bool> trailing_reduced;
        for (bool pass : {false, true})
            for (std::int64_t axis = 0; axis < rank; ++axis)
                if (reduced[axis] == pass) order.push_back(axis), trailing_reduced.push_back(pass);
        return sum_kernel(dense(x.detach().permute(order)), trailing_reduced).reshape(out.shape());
    }
    std::int64_t kept = out.numel(), total = x.numel();
    if (x.device().is_cuda()) {
        if (trailing)
            backend::cuda::sum_rows(x.data(), kept, total / kept, out.data());
        else
            backend::cuda::sum_columns(x.device(), x.data(), total / kept, kept, out.data());
        return out;
    }
    if (trailing)
        backend::cpu::sum_rows(x.data(), kept, total / kept, out.data());
    else
        backend::cpu::sum_columns(x.data(), total / kept, kept, out.data());
    return out;
}

} // namespace detail

// Sum over `axes` (all axes when empty).
template <Floating T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false) {
    common_device("sum", x);
    std::vector<bool> reduced = detail::reduced_axes("sum", axes, x.dim());
    Tensor<T> out = detail::sum_kernel(x, reduced).reshape(detail::reduced_shape(x.shape(), reduced, keepdim));
    Shape kept_shape = detail::reduced_shape(x.shape(), reduced, true);
    record("sum", out, {x}, [input_shape = x.shape(), kept_shape](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{grad.reshape(kept_shape).expand(input_shape)}; // a view: no copy
    });
    return out;
}

template <Floating T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false) {
    Device device = common_device("mean", x);
    std::vector<bool> reduced = detail::reduced_axes("mean", axes, x.dim());
    std::int64_t count = 1;
    for (std::int64_t axis = 0; axis < x.dim(); ++axis)
        if (reduced[axis]) count *= x.shape()[axis];
    if (count == 0) fail("mean: reducing shape ", x.shape(), " over an empty axis");
    return mul(sum(x, axes, keepdim), Tensor<T>::full({}, T(1.0 / double(count)), device));
}

// Maximum along one axis: the values at argmax's positions (the first largest entry, NaN counting
// as largest). The gradient goes to those positions.
template <Floating T> Tensor<T> max(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
    Device device = common_device("max", x);
    // No kernel of its own on a CUDA device: through the host, where the copies are recorded, so the
    // gradient flows back to the device.
    if (device.is_cuda()) return max(x.to(Device::cpu()), axis, keepdim).to(device);
    axis = normalize_axis("max", axis, x.dim());
    std::int64_t extent = x.shape()[axis];
    if (extent == 0) fail("max: axis ", axis, " of shape ", x.shape(), " is empty");
    std::vector<std::int64_t> order; // the axis moved last: rows in the order of argmax's output
    for (std::int64_t a = 0; a < x.dim(); ++a)
        if (a != axis) order.push_back(a);
    order.push_back(axis);
    Tensor<T> rows = dense(x.detach().permute(order));
    Tensor<std::int64_t> best = argmax(x, axis).contiguous();
    Tensor<T> out = Tensor<T>::empty(best.shape(), x.device());
    for (std::int64_t r = 0; r < out.numel(); ++r) out.data()[r] = rows.data()[r * extent + best.data()[r]];
    Tensor<T> result = keepdim ? out.unsqueeze(axis) : out;
    record("max", result, {x}, [best, rows_shape = rows.shape(), order, extent](const Tensor<T>& grad) {
        Tensor<T> scattered = Tensor<T>::zeros(rows_shape, grad.device());
        Tensor<T> g = dense(grad);
        for (std::int64_t r = 0; r < best.numel(); ++r) scattered.data()[r * extent + best.data()[r]] = g.data()[r];
        std::vector<std::int64_t> inverse(order.size());
        for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = std::int64_t(i);
        return std::vector<Tensor<T>>{scattered.permute(inverse).contiguous()};
    });
    return result;
}

// Sums `x` down to `shape`, the inverse of broadcasting `shape` up to x's shape.
template <Floating T> Tensor<T> sum_to_shape(const Tensor<T>& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    if (shape.size() > x.shape().size()) fail("sum_to_shape: cannot reduce shape ", x.shape(), " to ", shape);
    std::size_t lead = x.shape().size() - shape.size();
    std::vector<std::int64_t> axes;
    for (std::size_t axis = 0; axis < x.shape().size(); ++axis) {
        if (axis < lead)
            axes.push_back(std::int64_t(axis));
        else if (shape[axis - lead] == 1 && x.shape()[axis] != 1)
            axes.push_back(std::int64_t(axis));
        else if (shape[axis - lead] != x.shape()[axis])
            fail("sum_to_shape: cannot reduce shape ", x.shape(), " to ", shape);
    }
    if (axes.empty()) return x.reshape(shape);
    return sum(x, axes, true).reshape(shape);
}

} // namespace clipft::ops
