#pragma once
// RowsAlong: a tensor seen as contiguous rows along one axis, for the row-wise ops.
#include <clipft/backends.hpp>
#include <clipft/backend/cpu/rows.hpp>
#include <clipft/ops/checks.hpp>

#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::ops::detail {

// A tensor seen as `rows` contiguous rows of `extent` elements along one axis: the axis is permuted
// last, which costs a copy only when it is not already last (or the tensor is not contiguous).
class RowsAlong {
public:
    RowsAlong(const char* op, const Shape& shape, std::int64_t axis) {
        std::int64_t rank = std::int64_t(shape.size());
        if (axis < -rank || axis >= rank)
            fail(op, ": axis ", axis, " is out of range for a tensor of shape ", shape, "; use an axis in [", -rank,
                 ", ", rank, ")");
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
    template <typename T> Tensor<T> gather(const Tensor<T>& x) const { return dense(x.detach().permute(order_)); }
    // Contiguous rows back in the original layout, as a contiguous tensor.
    template <typename T> Tensor<T> scatter(const Tensor<T>& rows) const { return rows.permute(inverse_).contiguous(); }

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
        backend::cpu::parallel_rows(rows_, n, [&](std::int64_t row) {
            kernel(row, n, out.data() + row * n, first.data() + row * n, (more.data() + row * n)...);
        });
        return scatter(out);
    }

    std::int64_t rows_ = 0, extent_ = 0;
    std::vector<std::int64_t> order_, inverse_;
};

} // namespace clipft::ops::detail
