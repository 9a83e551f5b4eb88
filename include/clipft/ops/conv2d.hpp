#pragma once
// 2-D convolution for patch embedding (CLIP's visual.conv1): P x P kernels at stride P, no padding,
// so patches do not overlap. Computed as im2col (each patch one row) followed by linear, i.e. one
// GEMM; the backward is linear's plus scattering the patch rows' gradients back to their pixels.
#include <clipft/backends.hpp>
#include <clipft/ops/matmul.hpp>

namespace clipft::inline CLIPFT_BACKENDS::ops {

namespace detail {

// Calls copy(image_offset, patch_offset) for every run of `size` pixels along an image row that
// lands in one patch row. Images [N, C, H, W] are addressed with `strides`; patch rows are
// contiguous, indexed (n, patch_y, patch_x), each in (c, ky, kx) order.
template <typename Copy>
void for_each_patch_run(const Shape& shape, const Shape& strides, std::int64_t size, Copy&& copy) {
    std::int64_t grid_y = shape[2] / size, grid_x = shape[3] / size, patch_length = shape[1] * size * size;
    std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(patch_length, 1));
    backend::parallel_for(shape[0] * grid_y * grid_x, grain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) {
            std::int64_t n = row / (grid_y * grid_x), y = row / grid_x % grid_y, x = row % grid_x;
            std::int64_t corner = n * strides[0] + y * size * strides[2] + x * size * strides[3];
            for (std::int64_t c = 0; c < shape[1]; ++c)
                for (std::int64_t ky = 0; ky < size; ++ky)
                    copy(corner + c * strides[1] + ky * strides[2], row * patch_length + (c * size + ky) * size);
        }
    });
}

// [N * (H / P) * (W / P), C * P * P]: the non-overlapping P x P patches of images [N, C, H, W].
template <Floating T> Tensor<T> patch_rows(const Tensor<T>& images, std::int64_t size) {
    const Shape& shape = images.shape();
    Tensor<T> rows =
        Tensor<T>::empty({shape[0] * (shape[2] / size) * (shape[3] / size), shape[1] * size * size}, images.device());
    const T* pixels = images.data();
    std::int64_t step = images.strides()[3];
    for_each_patch_run(shape, images.strides(), size, [&](std::int64_t image_offset, std::int64_t patch_offset) {
        for (std::int64_t i = 0; i < size; ++i) rows.data()[patch_offset + i] = pixels[image_offset + i * step];
    });
    record("conv2d", rows, {images}, [shape, size](const Tensor<T>& grad) {
        Tensor<T> g = dense(grad);
        Tensor<T> grad_images = Tensor<T>::empty(shape, grad.device()); // every pixel is in exactly one patch
        for_each_patch_run(shape, grad_images.strides(), size, [&](std::int64_t image_offset, std::int64_t patch) {
            std::copy_n(g.data() + patch, size, grad_images.data() + image_offset);
        });
        return std::vector<Tensor<T>>{grad_images};
    });
    return rows;
}

} // namespace detail

// Convolution of input [N, C, H, W] with weight [O, C, P, P] and bias [O] (or an undefined tensor) at
// stride P, giving [N, O, H / P, W / P]. Only stride == P (patch embedding) is supported. The result
// is an NCHW view of channels-last memory: permute({0, 2, 3, 1}) of it is contiguous, so the
// [N, patches, O] token layout ViTs want is permute({0, 2, 3, 1}).reshape({N, -1, O}) without a copy.
template <Floating T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, std::int64_t stride) {
    Device device =
        bias.defined() ? common_device("conv2d", input, weight, bias) : common_device("conv2d", input, weight);
    if (input.dim() != 4 || weight.dim() != 4)
        fail("conv2d: input of shape ", input.shape(), " and weight of shape ", weight.shape(),
             ": the input must be [N, C, H, W] and the weight [out_channels, C, P, P]");
    std::int64_t size = weight.size(2), out_channels = weight.size(0), channels = weight.size(1);
    if (stride != size || weight.size(3) != size || size < 1)
        fail("conv2d: only stride == kernel size (patch embedding) is supported; got stride ", stride,
             " for weight of shape ", weight.shape());
    if (input.size(1) != channels)
        fail("conv2d: input of shape ", input.shape(), " has ", input.size(1), " channels but weight of shape ",
             weight.shape(), " expects ", channels);
    if (input.size(2) % size != 0 || input.size(3) % size != 0)
        fail("conv2d: input of shape ", input.shape(), " does not divide into ", size, " x ", size,
             " patches; resize or crop the images to multiples of ", size);
    if (bias.defined() && bias.shape() != Shape{out_channels})
        fail("conv2d: bias of shape ", bias.shape(), " does not match weight of shape ", weight.shape(),
             "; it must be [", out_channels, "]");
    Tensor<T> patches;
    if (device.is_cuda()) { // a permuted view made contiguous: one strided copy each way
        std::int64_t grid_y = input.size(2) / size, grid_x = input.size(3) / size;
        Tensor<T> blocks = input.reshape({input.size(0), channels, grid_y, size, grid_x, size});
        patches = blocks.permute({0, 2, 4, 1, 3, 5}).reshape({input.size(0) * grid_y * grid_x, channels * size * size});
    } else {
        patches = detail::patch_rows(input, size);
    }
    Tensor<T> rows = linear(patches, weight.reshape({out_channels, channels * size * size}), bias);
    Shape grid{input.size(0), input.size(2) / size, input.size(3) / size, out_channels};
    return rows.reshape(grid).permute({0, 3, 1, 2});
}

} // namespace clipft::ops
