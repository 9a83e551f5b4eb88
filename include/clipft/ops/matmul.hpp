#pragma once
// Matrix products: matmul (batched, broadcasting its batch axes like torch.matmul) and linear
// (x W^T + b with PyTorch's [out, in] weight). Every product is BLAS: operands whose matrices BLAS
// can read in place (row-major or transposed, rows any distance apart) go to it as a transposed flag
// and a leading dimension, never as copies; only other layouts are made contiguous first.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/autocast.hpp>
#include <clipft/backend/cpu/blas.hpp>
#include <clipft/ops/checks.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/reduction.hpp>

#include <optional>
#include <type_traits>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

struct MatrixLayout {
    bool transposed;      // stored as the row-major transpose
    std::int64_t leading; // distance between rows of the stored matrix
};

// How BLAS reads a rows x cols matrix with these strides in place; nullopt when it cannot (a
// stride-0 broadcast axis, a step along both axes). Empty matrices are never read: any layout does.
inline std::optional<MatrixLayout> matrix_layout(std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                                 std::int64_t col_stride) {
    if (rows == 0 || cols == 0) return MatrixLayout{false, std::max<std::int64_t>(cols, 1)};
    if ((cols == 1 || col_stride == 1) && (rows == 1 || row_stride >= cols))
        return MatrixLayout{false, rows == 1 ? cols : row_stride};
    if ((rows == 1 || row_stride == 1) && (cols == 1 || col_stride >= rows))
        return MatrixLayout{true, cols == 1 ? rows : col_stride};
    return std::nullopt;
}

// The layout of x read as one row-major matrix [every axis but the last, last axis], e.g. a
// contiguous [B, m, k] as [B * m, k] or a narrowed [m, k] view of a wider matrix; nullopt when the
// leading axes do not fold into one evenly spaced row axis.
inline std::optional<MatrixLayout> row_layout(const Shape& shape, const Shape& strides) {
    std::int64_t cols = shape.back();
    if (element_count(shape) == 0) return MatrixLayout{false, std::max<std::int64_t>(cols, 1)};
    if (cols != 1 && strides.back() != 1) return std::nullopt;
    std::optional<std::int64_t> leading;
    std::int64_t expected = 0;
    for (std::size_t axis = shape.size() - 1; axis-- > 0;) {
        if (shape[axis] == 1) continue;
        if (leading ? strides[axis] != expected : strides[axis] < cols) return std::nullopt;
        if (!leading) leading = strides[axis];
        expected = strides[axis] * shape[axis];
    }
    return MatrixLayout{false, leading.value_or(cols)};
}

inline std::int64_t row_count(const Shape& shape) { return element_count(Shape(shape.begin(), shape.end() - 1)); }
inline std::int64_t batch_count(const Shape& shape) { return element_count(Shape(shape.begin(), shape.end() - 2)); }

// An operand as BLAS reads it: the tensor (unrecorded; the input itself, or a contiguous copy when
// BLAS cannot read the input's layout) and the layout of its matrices.
template <Floating T> struct BlasMatrix {
    Tensor<T> tensor;
    MatrixLayout layout{};

    // The matrix starting `offset` elements in, read transposed when `transpose` is set.
    backend::cpu::MatrixOperand operand(std::int64_t offset = 0, bool transpose = false) const {
        return {tensor.data() + offset, layout.transposed != transpose, layout.leading};
    }
};

template <Floating T, typename LayoutOf> BlasMatrix<T> readable(const Tensor<T>& x, LayoutOf layout_of) {
    if (auto layout = layout_of(x)) return {x.detach(), *layout};
    Tensor<T> copy = dense(x);
    return {copy, *layout_of(copy)};
}

// The matrices in the last two axes of x.
template <Floating T> BlasMatrix<T> matrices_of(const Tensor<T>& x) {
    return readable(x, [](const Tensor<T>& t) {
        std::int64_t rank = t.dim();
        return matrix_layout(t.shape()[rank - 2], t.shape()[rank - 1], t.strides()[rank - 2], t.strides()[rank - 1]);
    });
}

// x as the row-major matrix [row_count, last extent].
template <Floating T> BlasMatrix<T> rows_of(const Tensor<T>& x) {
    return readable(x, [](const Tensor<T>& t) { return row_layout(t.shape(), t.strides()); });
}

// The products of float operands on a CUDA device under autocast: each operand's span of memory (as
// laid out, gaps included) converted to the 16-bit type once, then one cuBLAS call with float output.
template <typename Half16>
void multiply_in_16_bits(Device device, std::int64_t m, std::int64_t n, std::int64_t k, backend::cpu::MatrixOperand a,
                         backend::cpu::MatrixOperand b, float beta, float* c, std::int64_t ldc, std::int64_t batch,
                         std::int64_t a_stride, std::int64_t b_stride, std::int64_t c_stride) {
    auto converted = [&](backend::cpu::MatrixOperand operand, std::int64_t rows, std::int64_t columns,
                         std::int64_t stride) {
        std::int64_t stored_rows = operand.transposed ? columns : rows,
                     stored_columns = operand.transposed ? rows : columns;
        std::int64_t span = (batch - 1) * stride + (stored_rows - 1) * operand.leading + stored_columns;
        Tensor<Half16> copy = Tensor<Half16>::empty({span}, device);
        backend::cuda::strided_copy(copy.data(), {1}, static_cast<const float*>(operand.data), {1}, {span});
        return copy;
    };
    Tensor<Half16> left = converted(a, m, k, a_stride), right = converted(b, k, n, b_stride);
    backend::cuda::gemm_strided_batched<Half16, float>(
        device, m, n, k, {left.data(), a.transposed, a.leading, a_stride},
        {right.data(), b.transposed, b.leading, b_stride}, beta, c, ldc, c_stride, batch);
}

// c[b][m x n] = op(a[b]) @ op(b[b]) + beta * c[b] for `batch` products whose operands lie evenly
// spaced (strides in elements, 0 for a matrix shared by the batch), rows of c ldc apart (beta is 0
// or 1). The one place products go to BLAS or cuBLAS. Empty products skip BLAS, which rejects their
// zero extents.
template <Floating T>
void multiply(Device device, std::int64_t m, std::int64_t n, std::int64_t k, backend::cpu::MatrixOperand a,
              backend::cpu::MatrixOperand b, T beta, T* c, std::int64_t ldc, std::int64_t batch = 1,
              std::int64_t a_stride = 0, std::int64_t b_stride = 0, std::int64_t c_stride = 0) {
    if (m == 0 || n == 0 || batch == 0) return;
    if (device.is_cuda()) {
        if (k == 0 && beta == T(0)) return backend::cuda::zero_matrices(device, m, n, c, ldc, c_stride, batch);
        if constexpr (std::is_same_v<T, float>) {
            if (k > 0 && AutocastGuard::precision() == Precision::bfloat16)
                return multiply_in_16_bits<BFloat16>(device, m, n, k, a, b, beta, c, ldc, batch, a_stride, b_stride,
                                                     c_stride);
            if (k > 0 && AutocastGuard::precision() == Precision::float16)
                return multiply_in_16_bits<Half>(device, m, n, k, a, b, beta, c, ldc, batch, a_stride, b_stride,
                                                 c_stride);
        }
        backend::cuda::gemm_strided_batched<T>(device, m, n, k, {a.data, a.transposed, a.leading, a_stride},
                                               {b.data, b.transposed, b.leading, b_stride}, double(beta), c, ldc,
                                               c_stride, batch);
        return;
    }
    for (std::int64_t index = 0; index < batch; ++index) {
        T* product = c + index * c_stride;
        if (k == 0) {
            if (beta == T(0))
                for (std::int64_t i = 0; i < m; ++i) std::fill_n(product + i * ldc, n, T(0));
            continue;
        }
        backend::cpu::MatrixOperand left{static_cast<const T*>(a.data) + index * a_stride, a.transposed, a.leading};
        backend::cpu::MatrixOperand right{static_cast<const T*>(b.data) + index * b_stride, b.transposed, b.leading};
        backend::cpu::gemm(m, n, k, T(1), left, right, beta, product, ldc);
    }
}

// x^T @ y over the rows of x [rows, p] and y [rows, q]: one GEMM into a new tensor of `shape` (p * q
// elements). This is the weight gradient of a product whose left operand was folded into rows.
template <Floating T>
Tensor<T> rows_transposed_product(const BlasMatrix<T>& x, const BlasMatrix<T>& y, const Shape& shape) {
    std::int64_t rows = row_count(x.tensor.shape()), p = x.tensor.shape().back(), q = y.tensor.shape().back();
    Tensor<T> out = Tensor<T>::empty(shape, x.tensor.device());
    multiply(out.device(), p, q, rows, x.operand(0, true), y.operand(), T(0), out.data(), q);
    return out;
}

// out[batch..., m, n] = a @ b, batch axes broadcast to `batch`; nothing is recorded.
template <Floating T> Tensor<T> batched_product(const Tensor<T>& a, const Tensor<T>& b, const Shape& batch) {
    std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
    Shape out_shape = batch;
    out_shape.insert(out_shape.end(), {m, n});
    Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
    BlasMatrix<T> right = matrices_of(b);
    // One matrix on the right shared by every batch: the batches of a fold into the rows of one GEMM.
    if (batch_count(b.shape()) == 1) {
        if (auto rows = row_layout(a.shape(), a.strides())) {
            multiply(out.device(), row_count(a.shape()), n, k, {a.data(), false, rows->leading}, right.operand(), T(0),
                     out.data(), n);
            return out;
        }
    }
    BlasMatrix<T> left = matrices_of(a);
    auto batch_strides = [&](const BlasMatrix<T>& x) {
        Shape target = batch;
        target.insert(target.end(), x.tensor.shape().end() - 2, x.tensor.shape().end());
        return broadcast_strides(x.tensor, target); // 0 along broadcast batch axes
    };
    Shape a_strides = batch_strides(left), b_strides = batch_strides(right);
    std::int64_t count = element_count(batch);
    std::vector<std::int64_t> a_offsets(count), b_offsets(count);
    bool evenly_spaced = true;
    for (std::int64_t index = 0; index < count; ++index) {
        std::int64_t rest = index;
        for (std::size_t axis = batch.size(); axis-- > 0;) {
            std::int64_t i = rest % batch[axis];
            rest /= batch[axis];
            a_offsets[index] += i * a_strides[axis];
            b_offsets[index] += i * b_strides[axis];
        }
        if (index > 0 && (a_offsets[index] != index * a_offsets[1] || b_offsets[index] != index * b_offsets[1]))
            evenly_spaced = false;
    }
    // Evenly spaced batches (contiguous ones, or one shared matrix) are one strided-batched call.
    if (evenly_spaced && count > 1) {
        multiply(out.device(), m, n, k, left.operand(), right.operand(), T(0), out.data(), n, count, a_offsets[1],
                 b_offsets[1], m * n);
        return out;
    }
    for (std::int64_t index = 0; index < count; ++index)
        multiply(out.device(), m, n, k, left.operand(a_offsets[index]), right.operand(b_offsets[index]), T(0),
                 out.data() + index * m * n, n);
    return out;
}

} // namespace detail

// Matrix product of the last two axes, [..., m, k] @ [..., k, n] -> [..., m, n]; the batch axes (all
// but the last two) broadcast like NumPy. Both operands need rank >= 2.
template <Floating T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    common_device("matmul", a, b);
    if (a.dim() < 2 || b.dim() < 2)
        fail("matmul: shapes ", a.shape(), " and ", b.shape(),
             ": both operands need rank >= 2 (matrices or batches "
             "of matrices); unsqueeze a vector into a [1, n] or [n, 1] matrix");
    if (a.size(-1) != b.size(-2))
        fail("matmul: shapes ", a.shape(), " and ", b.shape(), " do not chain: the first has ", a.size(-1),
             " columns, the second ", b.size(-2), " rows");
    Shape batch;
    try {
        batch = broadcast_shapes("matmul", Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2));
    } catch (const Error&) {
        fail("matmul: shapes ", a.shape(), " and ", b.shape(),
             " have batch axes (all but the last two) that cannot "
             "be broadcast together; each pair must be equal or 1");
    }
    Tensor<T> out = detail::batched_product(a, b, batch);
    bool ga = needs_grad(a), gb = needs_grad(b);
    // grad_a = grad @ b^T and grad_b = a^T @ grad; the transposes are views, so BLAS gets flags.
    record("matmul", out, {a, b},
           [ad = gb ? a.detach() : Tensor<T>(), bd = ga ? b.detach() : Tensor<T>(), sa = a.shape(),
            sb = b.shape()](const Tensor<T>& grad) {
               Tensor<T> grad_a, grad_b;
               if (bd.defined()) grad_a = sum_to_shape(matmul(grad, bd.transpose(-1, -2)), sa);
               if (ad.defined()) {
                   // b shared by all batches: its gradient is one GEMM over the folded rows of a and grad.
                   if (sa.size() > 2 && detail::batch_count(sb) == 1)
                       grad_b = detail::rows_transposed_product(detail::rows_of(ad), detail::rows_of(grad), sb);
                   else
                       grad_b = sum_to_shape(matmul(ad.transpose(-1, -2), grad), sb);
               }
               return std::vector<Tensor<T>>{grad_a, grad_b};
           });
    return out;
}

namespace detail {

// linear's checks; returns the common device.
template <Floating T>
Device check_linear(const char* op, const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
    Device device = bias.defined() ? common_device(op, x, weight, bias) : common_device(op, x, weight);
    if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
        fail(op, ": input of shape ", x.shape(), " does not fit weight of shape ", weight.shape(),
             "; the weight must be [out_features, in_features] with in_features the input's last extent");
    if (bias.defined() && bias.shape() != Shape{weight.size(0)})
        fail(op, ": bias of shape ", bias.shape(), " does not match weight of shape ", weight.shape(), "; it must be [",
             weight.size(0), "]");
    return device;
}

// The gradients of x W^T + b for x [..., in] (read as the rows x_rows, saved when W needs its
// gradient) and W (w, saved when x needs its gradient), from `grad` of shape [..., out]:
// grad_x = grad @ W, grad_W = grad^T @ x and grad_b = column sums of grad, over the rows of x.
template <Floating T>
std::vector<Tensor<T>> linear_gradients(const Tensor<T>& grad, const BlasMatrix<T>& x_rows, const BlasMatrix<T>& w,
                                        const Shape& x_shape, bool grad_bias) {
    BlasMatrix<T> g = rows_of(grad);
    std::int64_t outputs = grad.shape().back(), inputs = x_shape.back();
    Tensor<T> grad_x, grad_w, grad_b;
    if (w.tensor.defined()) {
        grad_x = Tensor<T>::empty(x_shape, grad.device());
        multiply(grad.device(), row_count(x_shape), inputs, outputs, g.operand(), w.operand(), T(0), grad_x.data(),
                 inputs);
    }
    if (x_rows.tensor.defined()) grad_w = rows_transposed_product(g, x_rows, {outputs, inputs});
    if (grad_bias) grad_b = sum_to_shape(g.tensor, {outputs});
    return std::vector<Tensor<T>>{grad_x, grad_w, grad_b};
}

// Rows [i0, i1) and columns [j0, j1) of c (rows ldc apart): c = f(c + bias) and, where slope is not
// null, slope = f'(c + bias) at the same places; bias (null: none) indexed by column.
template <typename T, typename Function>
void bias_activation_block(T* c, T* slope, std::int64_t ldc, const T* bias, Function f, std::int64_t i0,
                           std::int64_t i1, std::int64_t j0, std::int64_t j1) {
    using backend::cpu::Batch;
    constexpr std::int64_t width = Batch<T>::size;
    auto apply = [&](auto z, T* value_at, T* slope_at) {
        using V = decltype(z);
        V y = f.value(z);
        if constexpr (std::is_same_v<V, T>) {
            *value_at = y;
            if (slope_at) *slope_at = f.derivative(T(1), z, y);
        } else {
            y.store_unaligned(value_at);
            if (slope_at) f.derivative(V(T(1)), z, y).store_unaligned(slope_at);
        }
    };
    for (std::int64_t i = i0; i < i1; ++i) {
        T* row = c + i * ldc;
        T* slope_row = slope ? slope + i * ldc : nullptr;
        std::int64_t j = j0;
        for (; j + width <= j1; j += width) {
            Batch<T> z = Batch<T>::load_unaligned(row + j);
            if (bias) z += Batch<T>::load_unaligned(bias + j);
            apply(z, row + j, slope_row ? slope_row + j : nullptr);
        }
        for (; j < j1; ++j) apply(bias ? row[j] + bias[j] : row[j], row + j, slope_row ? slope_row + j : nullptr);
    }
}

} // namespace detail

// y = x W^T + b for x [..., in], weight [out, in] (PyTorch's layout) and bias [out] or an undefined
// tensor: one GEMM over all leading axes of x, with the bias preloaded into the output.
template <Floating T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {}) {
    Device device = detail::check_linear("linear", x, weight, bias);
    std::int64_t out_features = weight.size(0), in_features = weight.size(1), rows = detail::row_count(x.shape());
    Shape out_shape = x.shape();
    out_shape.back() = out_features;
    Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
    if (bias.defined() && device.is_cuda()) {
        Tensor<T>::copy_values(out, dense(bias).expand(out_shape));
    } else if (bias.defined()) {
        Tensor<T> b = dense(bias);
        backend::parallel_for(rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(out_features, 1)),
                              [&](std::int64_t begin, std::int64_t end) {
                                  for (std::int64_t r = begin; r < end; ++r)
                                      std::copy_n(b.data(), out_features, out.data() + r * out_features);
                              });
    }
    detail::BlasMatrix<T> x_rows = detail::rows_of(x), w = detail::matrices_of(weight);
    detail::multiply(device, rows, out_features, in_features, x_rows.operand(), w.operand(0, true),
                     bias.defined() ? T(1) : T(0), out.data(), out_features);
    bool gx = needs_grad(x), gw = needs_grad(weight), gb = needs_grad(bias);
    // Chosen before the capture: nvcc 13's device front end crashes on these as conditional init-captures.
    detail::BlasMatrix<T> saved_x = gw ? x_rows : detail::BlasMatrix<T>{}, saved_w = gx ? w : detail::BlasMatrix<T>{};
    record("linear", out, {x, weight, bias},
           [x_rows = saved_x, w = saved_w, x_shape = x.shape(), gb](const Tensor<T>& grad) {
               return detail::linear_gradients(grad, x_rows, w, x_shape, gb);
           });
    return out;
}

// activation(x W^T + b), for an element-wise functor of elementwise.hpp (functions::QuickGelu, Gelu,
// ...), as one op: each block of the product gets its bias and activation on the thread that has
// just computed it, while it is in cache, in place, so the product's output is written once and
// updated once (unfused: the bias preloaded, the product adding to it, the activation reading it
// into a second tensor). With gradients the same pass stores the activation's derivative at every
// element, and backward multiplies the incoming gradient by it before linear's backward: nothing is
// recomputed, and what is kept (output and derivative) is what the unfused ops keep (their
// pre-activation and output). CUDA devices and empty products run the unfused ops.
template <typename Function, Floating T>
Tensor<T> linear_activation(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Function activation) {
    Device device = detail::check_linear("linear_activation", x, weight, bias);
    std::int64_t out_features = weight.size(0), in_features = weight.size(1), rows = detail::row_count(x.shape());
    if (device.is_cuda() || rows == 0 || out_features == 0 || in_features == 0)
        return elementwise(linear(x, weight, bias), activation);
    Shape out_shape = x.shape();
    out_shape.back() = out_features;
    Tensor<T> out = Tensor<T>::empty(out_shape, device);
    bool gx = needs_grad(x), gw = needs_grad(weight), gb = needs_grad(bias);
    Tensor<T> slope = gx || gw || gb ? Tensor<T>::empty(out_shape, device) : Tensor<T>();
    Tensor<T> b = bias.defined() ? dense(bias) : Tensor<T>();
    detail::BlasMatrix<T> x_rows = detail::rows_of(x), w = detail::matrices_of(weight);
    backend::cpu::gemm(rows, out_features, in_features, T(1), x_rows.operand(), w.operand(0, true), T(0), out.data(),
                       out_features, [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
                           detail::bias_activation_block(out.data(), slope.defined() ? slope.data() : nullptr,
                                                         out_features, b.defined() ? b.data() : nullptr, activation, i0,
                                                         i1, j0, j1);
                       });
    if (!slope.defined()) return out;
    detail::BlasMatrix<T> saved_x = gw ? x_rows : detail::BlasMatrix<T>{}, saved_w = gx ? w : detail::BlasMatrix<T>{};
    record("linear_activation", out, {x, weight, bias},
           [x_rows = saved_x, w = saved_w, slope, x_shape = x.shape(), gb](const Tensor<T>& grad) {
               Tensor<T> g = dense(grad), grad_z = Tensor<T>::empty(g.shape(), g.device());
               backend::cpu::map_contiguous(grad_z.data(), grad_z.numel(), functions::Times{}, g.data(), slope.data());
               return detail::linear_gradients(grad_z, x_rows, w, x_shape, gb);
           });
    return out;
}

} // namespace clipft::ops
