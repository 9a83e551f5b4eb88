#pragma once
// Interoperability with xtensor, and the only header that includes it (xtensor 0.26 moved its
// headers into subfolders; keeping the includes here confines that difference to one file).
// Not part of clip.hpp: include it where you exchange data with xtensor code.
#include <clipft/backends.hpp>
#include <clipft/tensor.hpp>

#if __has_include(<xtensor/containers/xadapt.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#endif

#include <vector>

namespace clipft::inline CLIPFT_BACKENDS {

// A zero-copy xtensor view of a CPU tensor, strides included; writes go to the tensor's storage.
template <typename T> auto as_xtensor(const Tensor<T>& tensor) {
    if (!tensor.device().is_cpu()) fail("as_xtensor: the tensor is on ", tensor.device(), "; copy it to the CPU first");
    std::vector<std::size_t> shape(tensor.shape().begin(), tensor.shape().end());
    std::vector<std::ptrdiff_t> strides(tensor.strides().begin(), tensor.strides().end());
    // xtensor sizes the adapted buffer by the shape's element count, whatever the strides.
    return xt::adapt(tensor.data(), std::size_t(tensor.numel()), xt::no_ownership(), shape, strides);
}

// A new contiguous tensor holding the values of any xtensor expression.
template <typename T, typename Expression> Tensor<T> from_xtensor(const xt::xexpression<Expression>& expression) {
    xt::xarray<T, xt::layout_type::row_major> values = expression.derived_cast();
    Shape shape(values.shape().begin(), values.shape().end());
    Tensor<T> result = Tensor<T>::empty(shape);
    std::copy(values.begin(), values.end(), result.data());
    return result;
}

} // namespace clipft
