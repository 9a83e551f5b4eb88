#pragma once
// CLIP's image preprocessing, as OpenAI's clip.clip._transform(size) computes it with torchvision
// on Pillow: resize the shorter side to `size` with Pillow's antialiased bicubic filter, center
// crop size x size, scale to [0, 1], normalise with CLIP's mean and std. On the same decoded pixels
// the result is bit-identical to the reference: the resampling reproduces Pillow's ImagingResample
// (separable, horizontal pass first, 8-bit intermediate, 22-bit fixed-point weights, alpha
// premultiplied during the resize) and only the pixels that survive the crop are computed.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/error.hpp>
#include <clipft/image/image.hpp>
#include <clipft/tensor.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::image {

inline constexpr std::array<float, 3> clip_mean{0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr std::array<float, 3> clip_std{0.26862954f, 0.26130258f, 0.27577711f};

struct PreprocessOptions {
    std::int64_t size = 224; // the model's image resolution (config.vision.image_size)
    std::array<float, 3> mean = clip_mean, std = clip_std;
};

namespace detail {

// Pillow is built without fused multiply-add; a fused a*b+c (which -march=native allows the
// compiler to form) can differ in the last bit and flip the fixed-point rounding of a weight, so
// each product used in a weight is rounded on its own.
inline double unfused_product(double a, double b) {
    volatile double product = a * b;
    return product;
}

// Pillow's bicubic kernel (a = -0.5, support 2), evaluated in the same order.
inline double bicubic_kernel(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return unfused_product(unfused_product(unfused_product(a + 2.0, x) - (a + 3.0), x), x) + 1;
    if (x < 2.0) return unfused_product(unfused_product(unfused_product(x - 5, x) + 8, x) - 4, a);
    return 0.0;
}

inline constexpr int weight_bits = 22; // Pillow's PRECISION_BITS for 8-bit images

// The taps of one resampling pass from in_size to out_size, for the output indices [begin, end):
// output index i reads count[i] input pixels from first[i] with weights[i * taps ...] (Pillow's
// precompute_coeffs + normalize_coeffs_8bpc).
struct ResampleTaps {
    std::int64_t taps = 0;
    std::vector<std::int64_t> first, count;
    std::vector<std::int32_t> weights;
};

inline ResampleTaps bicubic_taps(std::int64_t in_size, std::int64_t out_size, std::int64_t begin, std::int64_t end) {
    const double scale = double(in_size) / double(out_size);
    const double filter_scale = std::max(scale, 1.0); // down-scaling stretches the kernel (antialiasing)
    const double support = 2.0 * filter_scale;
    const double inverse_filter_scale = 1.0 / filter_scale;
    ResampleTaps result;
    result.taps = std::int64_t(std::ceil(support)) * 2 + 1;
    result.weights.assign(std::size_t((end - begin) * result.taps), 0);
    std::vector<double> weights(std::size_t(result.taps));
    for (std::int64_t i = begin; i < end; ++i) {
        const double center = unfused_product(double(i) + 0.5, scale);
        const std::int64_t low = std::max<std::int64_t>(std::int64_t(center - support + 0.5), 0);
        const std::int64_t high = std::min<std::int64_t>(std::int64_t(center + support + 0.5), in_size);
        double total = 0.0;
        for (std::int64_t x = low; x < high; ++x) {
            double weight = bicubic_kernel(unfused_product(double(x) - center + 0.5, inverse_filter_scale));
            weights[std::size_t(x - low)] = weight;
            total += weight;
        }
        std::int32_t* fixed = &result.weights[std::size_t((i - begin) * result.taps)];
        for (std::int64_t x = 0; x < high - low; ++x) {
            double weight = total != 0.0 ? weights[std::size_t(x)] / total : weights[std::size_t(x)];
            double scaled = weight * double(1 << weight_bits);
            fixed[x] = std::int32_t(weight < 0 ? scaled - 0.5 : scaled + 0.5);
        }
        result.first.push_back(low);
        result.count.push_back(high - low);
    }
    return result;
}

// Fixed-point sum -> 8 bits; the accumulator starts at one half, so this rounds.
inline std::uint8_t clip8(std::int32_t accumulator) {
    return std::uint8_t(std::clamp(accumulator >> weight_bits, 0, 255));
}
inline constexpr std::int32_t rounding_half = 1 << (weight_bits - 1);

// Horizontal pass over `rows` rows of `channels`-interleaved pixels.
template <std::size_t Channels>
void resample_horizontal(const std::uint8_t* source, std::int64_t source_stride, std::int64_t rows,
                         const ResampleTaps& taps, std::uint8_t* out, std::int64_t out_stride) {
    constexpr std::int64_t pixel_size = std::int64_t(Channels);
    const std::int64_t width = std::int64_t(taps.first.size());
    const std::int64_t grain = std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, width * taps.taps));
    backend::parallel_for(rows, grain, [&](std::int64_t row_begin, std::int64_t row_end) {
        for (std::int64_t row = row_begin; row < row_end; ++row) {
            const std::uint8_t* in = source + row * source_stride;
            std::uint8_t* target = out + row * out_stride;
            for (std::int64_t x = 0; x < width; ++x, target += pixel_size) {
                std::array<std::int32_t, Channels> sums;
                sums.fill(rounding_half);
                const std::uint8_t* pixel = in + taps.first[std::size_t(x)] * pixel_size;
                const std::int32_t* weight = &taps.weights[std::size_t(x * taps.taps)];
                for (std::int64_t tap = 0; tap < taps.count[std::size_t(x)]; ++tap, pixel += pixel_size)
                    for (std::size_t channel = 0; channel < Channels; ++channel)
                        sums[channel] += pixel[channel] * weight[tap];
                for (std::size_t channel = 0; channel < Channels; ++channel) target[channel] = clip8(sums[channel]);
            }
        }
    });
}

// Vertical pass: output row r mixes source rows taps.first[r] - first_row ... of `elements` bytes.
inline void resample_vertical(const std::uint8_t* source, std::int64_t source_stride, std::int64_t first_row,
                              std::int64_t elements, const ResampleTaps& taps, std::uint8_t* out,
                              std::int64_t out_stride) {
    const std::int64_t rows = std::int64_t(taps.first.size());
    const std::int64_t grain = std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, elements * taps.taps));
    backend::parallel_for(rows, grain, [&](std::int64_t row_begin, std::int64_t row_end) {
        std::vector<std::int32_t> sums(static_cast<std::size_t>(elements));
        for (std::int64_t row = row_begin; row < row_end; ++row) {
            std::fill(sums.begin(), sums.end(), rounding_half);
            const std::int32_t* weight = &taps.weights[std::size_t(row * taps.taps)];
            const std::uint8_t* in = source + (taps.first[std::size_t(row)] - first_row) * source_stride;
            for (std::int64_t tap = 0; tap < taps.count[std::size_t(row)]; ++tap, in += source_stride)
                for (std::int64_t element = 0; element < elements; ++element)
                    sums[std::size_t(element)] += in[element] * weight[tap];
            std::uint8_t* target = out + row * out_stride;
            for (std::int64_t element = 0; element < elements; ++element)
                target[element] = clip8(sums[std::size_t(element)]);
        }
    });
}

// Pillow's RGBA -> RGBa and RGBa -> RGBA conversions around a resize.
inline void premultiply_alpha(std::uint8_t* pixels, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i, pixels += 4)
        for (int channel = 0; channel < 3; ++channel) {
            unsigned product = unsigned(pixels[channel]) * pixels[3] + 128;
            pixels[channel] = std::uint8_t(((product >> 8) + product) >> 8);
        }
}
inline void unpremultiply_alpha(std::uint8_t* pixels, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i, pixels += 4) {
        unsigned alpha = pixels[3];
        if (alpha == 0 || alpha == 255) continue;
        for (int channel = 0; channel < 3; ++channel)
            pixels[channel] = std::uint8_t(std::min(255u, 255u * pixels[channel] / alpha));
    }
}

} // namespace detail

// The window [top, top + height) x [left, left + width) of the image resized to
// out_height x out_width with Pillow's BICUBIC filter (antialiased when down-scaling); only the
// window is computed. An axis whose size does not change is not resampled (as in Pillow), so
// without any size change this is a crop.
inline Image resize_bicubic_window(const Image& image, std::int64_t out_height, std::int64_t out_width,
                                   std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width) {
    if (image.pixels.empty()) fail("resize_bicubic: the image is empty");
    if (out_height <= 0 || out_width <= 0 || top < 0 || left < 0 || height <= 0 || width <= 0 ||
        top + height > out_height || left + width > out_width)
        fail("resize_bicubic: window ", height, "x", width, " at (", top, ", ", left, ") does not fit in the ",
             out_height, "x", out_width, " result of resizing a ", image.height, "x", image.width,
             " image; sizes must be positive and the window inside the result");
    const std::int64_t channels = image.channels;
    const bool horizontal = out_width != image.width, vertical = out_height != image.height;
    Image result(height, width, channels);
    const std::int64_t out_stride = width * channels;

    detail::ResampleTaps vertical_taps;
    std::int64_t first_row = top, last_row = top + height; // source rows the result reads
    if (vertical) {
        vertical_taps = detail::bicubic_taps(image.height, out_height, top, top + height);
        first_row = vertical_taps.first.front();
        last_row = vertical_taps.first.back() + vertical_taps.count.back();
    }
    const std::int64_t rows = last_row - first_row, source_stride = image.width * channels;
    const std::uint8_t* source = image.row(first_row);
    std::vector<std::uint8_t> premultiplied;
    if (image.has_alpha() && (horizontal || vertical)) {
        premultiplied.assign(source, source + rows * source_stride);
        detail::premultiply_alpha(premultiplied.data(), rows * image.width);
        source = premultiplied.data();
    }

    // Horizontal pass into an 8-bit intermediate image (or the source columns of the window).
    std::vector<std::uint8_t> intermediate;
    const std::uint8_t* columns = source + left * channels;
    std::int64_t columns_stride = source_stride;
    if (horizontal) {
        detail::ResampleTaps horizontal_taps = detail::bicubic_taps(image.width, out_width, left, left + width);
        intermediate.resize(std::size_t(rows * out_stride));
        if (channels == 4)
            detail::resample_horizontal<4>(source, source_stride, rows, horizontal_taps, intermediate.data(),
                                           out_stride);
        else
            detail::resample_horizontal<3>(source, source_stride, rows, horizontal_taps, intermediate.data(),
                                           out_stride);
        columns = intermediate.data();
        columns_stride = out_stride;
    }

    if (vertical) {
        detail::resample_vertical(columns, columns_stride, first_row, out_stride, vertical_taps, result.pixels.data(),
                                  out_stride);
    } else {
        for (std::int64_t row = 0; row < height; ++row)
            std::copy_n(columns + row * columns_stride, out_stride, result.row(row));
    }
    if (!premultiplied.empty()) detail::unpremultiply_alpha(result.pixels.data(), height * width);
    return result;
}

inline Image resize_bicubic(const Image& image, std::int64_t height, std::int64_t width) {
    return resize_bicubic_window(image, height, width, 0, 0, height, width);
}

// torchvision's Resize(size) output size: the shorter side becomes `size`, the longer one
// int(size * long / short) (truncated).
inline std::array<std::int64_t, 2> shorter_side_size(std::int64_t height, std::int64_t width, std::int64_t size) {
    if (size <= 0) fail("shorter_side_size: size must be positive, got ", size);
    if (height <= 0 || width <= 0) fail("shorter_side_size: image size ", height, "x", width, " must be positive");
    if (width <= height) return {std::int64_t(double(size * height) / double(width)), size};
    return {size, std::int64_t(double(size * width) / double(height))};
}

// torchvision's CenterCrop offset: round((extent - crop) / 2), halves to even like Python's round.
inline std::int64_t center_crop_offset(std::int64_t extent, std::int64_t crop) {
    std::int64_t excess = extent - crop, half = excess / 2;
    return excess % 2 != 0 && half % 2 != 0 ? half + 1 : half;
}

// CLIP's Resize(size, BICUBIC) + CenterCrop(size): a size x size image (alpha kept when present).
inline Image resize_and_center_crop(const Image& image, std::int64_t size) {
    auto [height, width] = shorter_side_size(image.height, image.width, size);
    return resize_bicubic_window(image, height, width, center_crop_offset(height, size),
                                 center_crop_offset(width, size), size, size);
}

namespace detail {
// ToTensor + Normalize of the RGB channels into `out` ([3, H, W], contiguous).
inline void normalize_into(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                           float* out) {
    std::array<std::array<float, 256>, 3> table;
    for (std::size_t channel = 0; channel < 3; ++channel)
        for (int value = 0; value < 256; ++value)
            table[channel][std::size_t(value)] = (float(value) / 255.0f - mean[channel]) / std[channel];
    const std::int64_t plane = image.height * image.width;
    for (std::int64_t pixel = 0; pixel < plane; ++pixel) {
        const std::uint8_t* source = image.pixels.data() + pixel * image.channels;
        for (std::size_t channel = 0; channel < 3; ++channel)
            out[std::int64_t(channel) * plane + pixel] = table[channel][source[channel]];
    }
}
} // namespace detail

// ToTensor + Normalize: [3, H, W] float32 (u8 / 255 - mean) / std per channel, computed in float32
// as torchvision does; alpha is dropped (CLIP converts RGBA to RGB without compositing).
inline Tensor<float> to_normalized_tensor(const Image& image, const std::array<float, 3>& mean = clip_mean,
                                          const std::array<float, 3>& std = clip_std) {
    if (image.pixels.empty()) fail("to_normalized_tensor: the image is empty");
    Tensor<float> result = Tensor<float>::empty({3, image.height, image.width});
    detail::normalize_into(image, mean, std, result.data());
    return result;
}

// One image -> [3, size, size], as clip.clip._transform(size).
inline Tensor<float> preprocess(const Image& image, const PreprocessOptions& options = {}) {
    return to_normalized_tensor(resize_and_center_crop(image, options.size), options.mean, options.std);
}

inline Tensor<float> preprocess(const std::filesystem::path& path, const PreprocessOptions& options = {},
                                const LoadOptions& load_options = {}) {
    return preprocess(load_image(path, load_options), options);
}

// [N, 3, S, S] from `count` items, each turned into its S x S crop by `crop(i)` (decode, augment,
// resize: whatever an item needs); items run in parallel, and the first item's error is rethrown.
template <typename Crop>
Tensor<float> preprocess_each(std::int64_t count, const PreprocessOptions& options, Crop&& crop) {
    if (options.size <= 0) fail("preprocess_batch: size must be positive, got ", options.size);
    Tensor<float> result = Tensor<float>::empty({count, 3, options.size, options.size});
    const std::int64_t item_size = 3 * options.size * options.size;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(count));
    backend::parallel_for(count, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) try {
                detail::normalize_into(crop(i), options.mean, options.std, result.data() + i * item_size);
            } catch (...) {
                errors[std::size_t(i)] = std::current_exception();
            }
    });
    for (const std::exception_ptr& error : errors)
        if (error) std::rethrow_exception(error);
    return result;
}

// Images -> [N, 3, size, size].
inline Tensor<float> preprocess_batch(const std::vector<Image>& images, const PreprocessOptions& options = {}) {
    return preprocess_each(std::int64_t(images.size()), options, [&](std::int64_t i) {
        return resize_and_center_crop(images[std::size_t(i)], options.size);
    });
}

// Image files -> [N, 3, size, size], decoded in parallel; the first failing file (in order) is reported.
inline Tensor<float> preprocess_batch(const std::vector<std::filesystem::path>& paths,
                                      const PreprocessOptions& options = {}, const LoadOptions& load_options = {}) {
    return preprocess_each(std::int64_t(paths.size()), options, [&](std::int64_t i) {
        return resize_and_center_crop(load_image(paths[std::size_t(i)], load_options), options.size);
    });
}

} // namespace clipft::image
