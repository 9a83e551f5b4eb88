#pragma once
// Indexing ops: embedding lookup, concat/stack, index_select, select_positions (one position per
// batch row: CLIP's end-of-text pooling) and argmax over ids. Gather-style forwards copy whole
// slices; their backwards scatter-add into a zero gradient, touching only the selected slices.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/ops/checks.hpp>

#include <algorithm>
#include <memory>
#include <sstream>
#include <type_traits>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

// A contiguous tensor viewed as [outer, extent, inner] around one axis.
struct AxisSplit {
    std::int64_t outer = 1, extent = 1, inner = 1;
};

inline AxisSplit split_at(const Shape& shape, std::int64_t axis) {
    AxisSplit split;
    for (std::int64_t a = 0; a < std::int64_t(shape.size()); ++a) {
        if (a < axis)
            split.outer *= shape[a];
        else if (a > axis)
            split.inner *= shape[a];
    }
    split.extent = shape[axis];
    return split;
}

// out[o, k, :] = in[o, indices[k], :] with `in` contiguous as `split` and `out` as [outer, count, inner].
template <typename T>
void gather_slices(T* out, const T* in, const AxisSplit& split, const std::int64_t* indices, std::int64_t count) {
    std::int64_t inner = split.inner;
    backend::parallel_for(split.outer * count, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(inner, 1)),
                          [&](std::int64_t begin, std::int64_t end) {
                              for (std::int64_t item = begin; item < end; ++item) {
                                  std::int64_t o = item / count, k = item % count;
                                  const T* source = in + (o * split.extent + indices[k]) * inner;
                                  std::copy(source, source + inner, out + item * inner);
                              }
                          });
}

// The adjoint of gather_slices: a zero tensor of `shape` (contiguous, split as `split`) with
// grad[o, k, :] added to row indices[k] of block o. Work is split by (block, column range), so
// repeated indices never race and the sums do not depend on the thread count.
template <Floating T>
Tensor<T> scatter_add_slices(const Shape& shape, const AxisSplit& split, const Tensor<T>& grad,
                             const std::int64_t* indices, std::int64_t count) {
    Tensor<T> result = Tensor<T>::zeros(shape, grad.device());
    Tensor<T> g = dense(grad);
    constexpr std::int64_t columns_per_task = 256;
    std::int64_t inner = split.inner, column_blocks = (inner + columns_per_task - 1) / columns_per_task;
    T* out = result.data();
    const T* in = g.data();
    backend::parallel_for(split.outer * column_blocks,
                          std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(count * columns_per_task, 1)),
                          [&](std::int64_t begin, std::int64_t end) {
                              for (std::int64_t task = begin; task < end; ++task) {
                                  std::int64_t o = task / column_blocks,
                                               first = task % column_blocks * columns_per_task;
                                  std::int64_t last = std::min(inner, first + columns_per_task);
                                  for (std::int64_t k = 0; k < count; ++k) {
                                      T* target = out + (o * split.extent + indices[k]) * inner;
                                      const T* source = in + (o * count + k) * inner;
                                      for (std::int64_t c = first; c < last; ++c) target[c] += source[c];
                                  }
                              }
                          });
    return result;
}

// Shared by concat and stack: copies input i into slot(output, i) and routes slot(grad, i) back.
template <typename T, typename Slot>
Tensor<T> join(const char* op, const std::vector<Tensor<T>>& tensors, const Shape& shape, Slot slot) {
    Tensor<T> out = Tensor<T>::empty(shape, tensors[0].device());
    for (std::size_t i = 0; i < tensors.size(); ++i) slot(out, std::int64_t(i)).copy_(tensors[i]);
    if constexpr (Floating<T>) {
        std::vector<bool> wanted;
        for (const Tensor<T>& x : tensors) wanted.push_back(needs_grad(x));
        record(op, out, tensors, [wanted, slot](const Tensor<T>& grad) {
            std::vector<Tensor<T>> grads(wanted.size());
            for (std::size_t i = 0; i < wanted.size(); ++i)
                if (wanted[i]) grads[i] = slot(grad, std::int64_t(i));
            return grads;
        });
    }
    return out;
}

template <typename T> void check_not_empty(const char* op, const std::vector<Tensor<T>>& tensors) {
    if (tensors.empty()) fail(op, ": needs at least one tensor, got an empty list");
}

// Checks a list for concat/stack: one device, and every shape equal to the first's except along
// `free_axis` (-1: no exception).
template <typename T>
void check_joinable(const char* op, const std::vector<Tensor<T>>& tensors, std::int64_t free_axis) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        common_device(op, tensors[0], tensors[i]); // joined by copy_, which runs on every device
        const Shape& first = tensors[0].shape();
        const Shape& shape = tensors[i].shape();
        bool matches = shape.size() == first.size();
        for (std::size_t a = 0; matches && a < shape.size(); ++a)
            matches = std::int64_t(a) == free_axis || shape[a] == first[a];
        if (!matches) {
            if (free_axis < 0)
                fail(op, ": tensor ", i, " has shape ", shape, " but tensor 0 has shape ", first,
                     "; all shapes must be equal");
            fail(op, ": tensor ", i, " has shape ", shape, " but tensor 0 has shape ", first,
                 "; shapes must be equal except along axis ", free_axis);
        }
    }
}

// The ids as a contiguous array, each checked to lie in [0, extent). `describe` completes the
// error message after "<op>: id <id> at position <index>".
template <typename Describe>
Tensor<std::int64_t> checked_indices(const char* op, const Tensor<std::int64_t>& ids, std::int64_t extent,
                                     Describe describe) {
    Tensor<std::int64_t> dense_ids = dense(ids).to(Device::cpu()); // checked on the host
    const std::int64_t* values = dense_ids.data();
    for (std::int64_t i = 0; i < dense_ids.numel(); ++i) {
        if (values[i] >= 0 && values[i] < extent) continue;
        Shape position(ids.dim());
        for (std::int64_t axis = ids.dim() - 1, rest = i; axis >= 0; --axis) {
            position[axis] = rest % ids.shape()[axis];
            rest /= ids.shape()[axis];
        }
        fail(op, ": id ", values[i], " at position ", position, " of the ids (shape ", ids.shape(), ") ", describe());
    }
    return dense_ids;
}

// embedding on a CUDA device, for ids already checked; the gradient rows are added atomically.
template <Floating T>
Tensor<T> embedding_on_device(const Tensor<std::int64_t>& ids, const Tensor<T>& weight, const Shape& shape) {
    Tensor<std::int64_t> indices = dense(ids);
    Tensor<T> out = Tensor<T>::empty(shape, weight.device());
    std::int64_t width = weight.shape()[1];
    backend::cuda::gather_rows(dense(weight).data(), indices.data(), indices.numel(), width, out.data());
    record("embedding", out, {weight}, [indices, width, weight_shape = weight.shape()](const Tensor<T>& grad) {
        Tensor<T> weight_grad = Tensor<T>::zeros(weight_shape, grad.device());
        backend::cuda::scatter_add_rows(dense(grad).data(), indices.data(), indices.numel(), width, weight_grad.data());
        return std::vector<Tensor<T>>{weight_grad};
    });
    return out;
}

} // namespace detail

// Rows of `weight` [V, D] picked by `ids` of any shape [...]: the result has shape [..., D]. The
// gradient of `weight` is dense [V, D], zero except the rows used (repeated ids add up).
template <Floating T> Tensor<T> embedding(const Tensor<std::int64_t>& ids, const Tensor<T>& weight) {
    Device device = common_device("embedding", weight, ids);
    check_rank("embedding", weight, 2, "weight");
    std::int64_t rows = weight.shape()[0];
    Tensor<std::int64_t> indices = detail::checked_indices("embedding", ids, rows, [&] {
        std::ostringstream message;
        message << "is out of range for a vocabulary of " << rows << " rows (weight shape " << weight.shape()
                << "); ids must lie in [0, " << rows << ")";
        return message.str();
    });
    Shape shape = ids.shape();
    shape.push_back(weight.shape()[1]);
    if (device.is_cuda()) return detail::embedding_on_device(ids, weight, shape);
    Tensor<T> out = Tensor<T>::empty(shape, weight.device());
    detail::AxisSplit split = detail::split_at(weight.shape(), 0);
    detail::gather_slices(out.data(), dense(weight).data(), split, indices.data(), indices.numel());
    record("embedding", out, {weight}, [indices, split, weight_shape = weight.shape()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{
            detail::scatter_add_slices(weight_shape, split, grad, indices.data(), indices.numel())};
    });
    return out;
}

// Joins tensors along an existing axis; all other extents must match.
template <Storable T> Tensor<T> concat(const std::vector<Tensor<T>>& tensors, std::int64_t axis) {
    detail::check_not_empty("concat", tensors);
    axis = normalize_axis("concat", axis, tensors[0].dim());
    detail::check_joinable("concat", tensors, axis);
    std::vector<std::int64_t> starts{0};
    for (const Tensor<T>& x : tensors) starts.push_back(starts.back() + x.shape()[axis]);
    Shape shape = tensors[0].shape();
    shape[axis] = starts.back();
    return detail::join("concat", tensors, shape, [axis, starts](const Tensor<T>& whole, std::int64_t i) {
        return whole.narrow(axis, starts[i], starts[i + 1] - starts[i]);
    });
}

// Joins equally shaped tensors along a new axis (stack(tensors, 0) -> [N, ...]).
template <Storable T> Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::int64_t axis) {
    detail::check_not_empty("stack", tensors);
    detail::check_joinable("stack", tensors, -1);
    axis = normalize_axis("stack", axis, tensors[0].dim() + 1);
    Shape shape = tensors[0].shape();
    shape.insert(shape.begin() + axis, std::int64_t(tensors.size()));
    return detail::join("stack", tensors, shape,
                        [axis](const Tensor<T>& whole, std::int64_t i) { return whole.select(axis, i); });
}

// The slices of x at `indices` [K] along `axis`, in that order (repeats allowed): x's shape with
// that axis replaced by K. The backward adds each slice's gradient back at its index.
template <Floating T>
Tensor<T> index_select(const Tensor<T>& x, std::int64_t axis, const Tensor<std::int64_t>& indices) {
    Device device = common_device("index_select", x, indices);
    check_rank("index_select", indices, 1, "indices");
    axis = normalize_axis("index_select", axis, x.dim());
    Tensor<std::int64_t> positions = detail::checked_indices("index_select", indices, x.shape()[axis], [&] {
        std::ostringstream message;
        message << "is out of range for axis " << axis << " of the input of shape " << x.shape();
        return message.str();
    });
    Shape shape = x.shape();
    shape[axis] = indices.numel();
    if (device.is_cuda()) { // a row gather of x with `axis` moved first and the others flattened
        std::vector<std::int64_t> order{axis}, inverse(x.dim());
        for (std::int64_t a = 0; a < x.dim(); ++a)
            if (a != axis) order.push_back(a);
        for (std::int64_t i = 0; i < x.dim(); ++i) inverse[order[i]] = i;
        Tensor<T> rows = x.permute(order);
        Shape moved_shape = rows.shape();
        moved_shape[0] = indices.numel();
        std::int64_t width = element_count(Shape(moved_shape.begin() + 1, moved_shape.end()));
        return detail::embedding_on_device(positions.to(device), rows.reshape({x.shape()[axis], width}),
                                           {indices.numel(), width})
            .reshape(moved_shape)
            .permute(inverse);
    }
    Tensor<T> out = Tensor<T>::empty(shape, x.device());
    detail::AxisSplit split = detail::split_at(x.shape(), axis);
    detail::gather_slices(out.data(), dense(x).data(), split, positions.data(), positions.numel());
    record("index_select", out, {x}, [positions, split, input_shape = x.shape()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{
            detail::scatter_add_slices(input_shape, split, grad, positions.data(), positions.numel())};
    });
    return out;
}

// One position per batch row: x [B, L, D], positions [B] -> [B, D] with row b = x[b, positions[b], :].
// CLIP pools its text features this way at each sequence's end-of-text token (see argmax).
template <Floating T> Tensor<T> select_positions(const Tensor<T>& x, const Tensor<std::int64_t>& positions) {
    Device device = common_device("select_positions", x, positions);
    check_rank("select_positions", x, 3);
    check_rank("select_positions", positions, 1, "positions");
    std::int64_t batch = x.shape()[0], length = x.shape()[1], width = x.shape()[2];
    if (positions.numel() != batch)
        fail("select_positions: positions of shape ", positions.shape(),
             " do not match the batch of the input of shape ", x.shape(), "; pass one position per batch row");
    Tensor<std::int64_t> picked = detail::checked_indices("select_positions", positions, length, [&] {
        std::ostringstream message;
        message << "is out of range for a sequence of length " << length << " (input shape " << x.shape() << ")";
        return message.str();
    });
    if (device.is_cuda()) { // rows b * length + position[b] of x as a [batch * length, width] table
        std::vector<std::int64_t> rows(batch);
        for (std::int64_t b = 0; b < batch; ++b) rows[b] = b * length + picked.data()[b];
        return detail::embedding_on_device(Tensor<std::int64_t>::from_vector(rows).to(device),
                                           x.reshape({batch * length, width}), {batch, width});
    }
    Tensor<T> out = Tensor<T>::empty({batch, width}, x.device());
    const Shape& strides = x.strides();
    const T* in = x.data();
    const std::int64_t* position = picked.data();
    T* result = out.data();
    backend::parallel_for(batch, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(width, 1)),
                          [&](std::int64_t begin, std::int64_t end) {
                              for (std::int64_t b = begin; b < end; ++b) {
                                  const T* row = in + b * strides[0] + position[b] * strides[1];
                                  for (std::int64_t d = 0; d < width; ++d) result[b * width + d] = row[d * strides[2]];
                              }
                          });
    record("select_positions", out, {x}, [picked, length, width, input_shape = x.shape()](const Tensor<T>& grad) {
        Tensor<T> full = Tensor<T>::zeros(input_shape, grad.device());
        Tensor<T> g = dense(grad);
        for (std::int64_t b = 0; b < input_shape[0]; ++b)
            std::copy(g.data() + b * width, g.data() + (b + 1) * width,
                      full.data() + (b * length + picked.data()[b]) * width);
        return std::vector<Tensor<T>>{full};
    });
    return out;
}

// Index of the largest value along `axis` (the first one on ties; NaN counts as largest). With
// CLIP's tokenizer the end-of-text id is the largest id, so argmax(ids, -1) finds each sequence's
// end-of-text position.
template <Storable T> Tensor<std::int64_t> argmax(const Tensor<T>& x, std::int64_t axis = -1, bool keepdim = false) {
    Device device = common_device("argmax", x);
    // On a CUDA device through the host: argmax picks positions from ids, a few hundred values.
    if (device.is_cuda()) return argmax(x.to(Device::cpu()), axis, keepdim).to(device);
    if (x.dim() == 0) fail("argmax: the input is 0-d (shape []); it needs at least one axis");
    axis = normalize_axis("argmax", axis, x.dim());
    std::int64_t extent = x.shape()[axis];
    if (extent == 0) fail("argmax: axis ", axis, " of shape ", x.shape(), " is empty");
    std::vector<std::int64_t> order;
    for (std::int64_t a = 0; a < x.dim(); ++a)
        if (a != axis) order.push_back(a);
    order.push_back(axis);
    Tensor<T> rows = dense(x.detach().permute(order));
    Shape shape = x.shape();
    if (keepdim)
        shape[axis] = 1;
    else
        shape.erase(shape.begin() + axis);
    Tensor<std::int64_t> out = Tensor<std::int64_t>::empty(shape, x.device());
    // Integers compare exactly as themselves, floating types as doubles (exact for every one).
    auto value = [](T v) {
        if constexpr (std::is_integral_v<T>)
            return v;
        else
            return convert_scalar<double>(v);
    };
    const T* in = rows.data();
    std::int64_t* result = out.data();
    backend::parallel_for(
        out.numel(), std::max<std::int64_t>(1, 16384 / extent), [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = begin; r < end; ++r) {
                const T* row = in + r * extent;
                std::int64_t best = 0;
                for (std::int64_t j = 1; j < extent && value(row[best]) == value(row[best]); ++j) // stop at a NaN
                    if (value(row[j]) > value(row[best]) || value(row[j]) != value(row[j])) best = j;
                result[r] = best;
            }
        });
    return out;
}

} // namespace clipft::ops
