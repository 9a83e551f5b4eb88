#pragma once
// Seeded training augmentations of 8-bit images: horizontal flip, colour jitter, JPEG
// re-compression, Gaussian blur and random resized crop, and an Augmentation pipeline with a
// compact text form for command lines. Every random draw comes from a clipft::Generator, so a seed
// gives the same images on every platform (up to the last bit of std::exp/std::log in a few draws).
// Colour work is done in double on [0, 255] and rounded once at the end; alpha is left as it is.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/image/image.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/image/save.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::image {

inline Image horizontal_flip(const Image& image) {
    Image result = image;
    const std::int64_t channels = image.channels;
    for (std::int64_t y = 0; y < image.height; ++y) {
        const std::uint8_t* source = image.row(y);
        std::uint8_t* target = result.row(y);
        for (std::int64_t x = 0; x < image.width; ++x)
            std::copy_n(source + x * channels, channels, target + (image.width - 1 - x) * channels);
    }
    return result;
}

// The pixels [top, top + height) x [left, left + width).
inline Image crop(const Image& image, std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width) {
    if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > image.height || left + width > image.width)
        fail("crop: the box ", height, "x", width, " at (top ", top, ", left ", left, ") is not inside the ",
             image.height, "x", image.width, " image");
    Image result(height, width, image.channels);
    for (std::int64_t y = 0; y < height; ++y)
        std::copy_n(image.row(top + y) + left * image.channels, width * image.channels, result.row(y));
    return result;
}

// ---- Colour ----

// Strengths as torchvision's ColorJitter takes them: the brightness, contrast and saturation factors
// are drawn from [max(0, 1 - s), 1 + s], the hue shift from [-hue, hue] of a full turn (hue <= 0.5).
// Zero leaves that property alone.
struct ColourJitter {
    double brightness = 0, contrast = 0, saturation = 0, hue = 0;
    bool operator==(const ColourJitter&) const = default;
};

namespace detail {

// The RGB values of every pixel, interleaved, in [0, 255].
inline std::vector<double> rgb_values(const Image& image) {
    const std::int64_t count = image.height * image.width;
    std::vector<double> values(std::size_t(count * 3));
    for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t c = 0; c < 3; ++c)
            values[std::size_t(i * 3 + c)] = image.pixels[std::size_t(i * image.channels + c)];
    return values;
}

// `image` with its RGB values replaced by `values`, rounded to the nearest integer.
inline Image with_rgb_values(const Image& image, const std::vector<double>& values) {
    Image result = image;
    const std::int64_t count = image.height * image.width;
    for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t c = 0; c < 3; ++c)
            result.pixels[std::size_t(i * image.channels + c)] =
                std::uint8_t(std::lround(std::clamp(values[std::size_t(i * 3 + c)], 0.0, 255.0)));
    return result;
}

inline double luma(const double* rgb) { return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]; }

// Each step clamps to [0, 255] like torchvision's, so the order of steps matters as there.
inline void scale_brightness(std::vector<double>& rgb, double factor) {
    for (double& value : rgb) value = std::clamp(value * factor, 0.0, 255.0);
}

// Blend with the mean gray level of the whole image.
inline void scale_contrast(std::vector<double>& rgb, double factor) {
    double total = 0;
    for (std::size_t i = 0; i < rgb.size(); i += 3) total += luma(&rgb[i]);
    const double mean = total / double(rgb.size() / 3);
    for (double& value : rgb) value = std::clamp(factor * value + (1 - factor) * mean, 0.0, 255.0);
}

// Blend each pixel with its own gray level.
inline void scale_saturation(std::vector<double>& rgb, double factor) {
    for (std::size_t i = 0; i < rgb.size(); i += 3) {
        const double gray = luma(&rgb[i]);
        for (std::size_t c = 0; c < 3; ++c)
            rgb[i + c] = std::clamp(factor * rgb[i + c] + (1 - factor) * gray, 0.0, 255.0);
    }
}

// Rotate the hue in HSV space by `shift` turns; grays (no hue) stay as they are.
inline void shift_hue(std::vector<double>& rgb, double shift) {
    for (std::size_t i = 0; i < rgb.size(); i += 3) {
        const double r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
        const double value = std::max({r, g, b}), delta = value - std::min({r, g, b});
        if (delta == 0) continue;
        const double saturation = delta / value;
        double hue = value == r ? (g - b) / delta : value == g ? (b - r) / delta + 2 : (r - g) / delta + 4;
        hue = hue / 6 + shift;
        hue -= std::floor(hue);
        const double sector = hue * 6, whole = std::floor(sector), fraction = sector - whole;
        const double p = value * (1 - saturation), q = value * (1 - saturation * fraction),
                     t = value * (1 - saturation * (1 - fraction));
        std::array<double, 3> out;
        switch (int(whole) % 6) {
        case 0:
            out = {value, t, p};
            break;
        case 1:
            out = {q, value, p};
            break;
        case 2:
            out = {p, value, t};
            break;
        case 3:
            out = {p, q, value};
            break;
        case 4:
            out = {t, p, value};
            break;
        default:
            out = {value, p, q};
            break;
        }
        std::copy(out.begin(), out.end(), rgb.begin() + std::ptrdiff_t(i));
    }
}

template <typename Step> Image adjust(const Image& image, Step step) {
    std::vector<double> rgb = rgb_values(image);
    step(rgb);
    return with_rgb_values(image, rgb);
}

} // namespace detail

// torchvision.transforms.functional's colour adjustments: brightness multiplies, contrast blends
// with the image's mean gray, saturation with each pixel's gray (factor 1 = unchanged), hue rotates
// by `shift` turns.
inline Image adjust_brightness(const Image& image, double factor) {
    return detail::adjust(image, [&](std::vector<double>& rgb) { detail::scale_brightness(rgb, factor); });
}
inline Image adjust_contrast(const Image& image, double factor) {
    return detail::adjust(image, [&](std::vector<double>& rgb) { detail::scale_contrast(rgb, factor); });
}
inline Image adjust_saturation(const Image& image, double factor) {
    return detail::adjust(image, [&](std::vector<double>& rgb) { detail::scale_saturation(rgb, factor); });
}
inline Image adjust_hue(const Image& image, double shift) {
    return detail::adjust(image, [&](std::vector<double>& rgb) { detail::shift_hue(rgb, shift); });
}

inline void check_colour_jitter(const ColourJitter& jitter, std::string_view where) {
    for (double strength : {jitter.brightness, jitter.contrast, jitter.saturation})
        if (!(strength >= 0) || !std::isfinite(strength))
            fail(where, ": brightness, contrast and saturation strengths must be finite and >= 0, got ", strength);
    if (!(jitter.hue >= 0 && jitter.hue <= 0.5))
        fail(where, ": the hue strength must be within [0, 0.5] of a turn, got ", jitter.hue);
}

// torchvision's ColorJitter: a random order of the four steps (Fisher-Yates with the generator),
// then the factors of the enabled ones drawn in the order brightness, contrast, saturation, hue,
// then the steps applied in that random order. With all strengths zero nothing is drawn.
inline Image colour_jitter(const Image& image, const ColourJitter& jitter, Generator& generator) {
    check_colour_jitter(jitter, "colour_jitter");
    if (jitter == ColourJitter{}) return image;
    std::vector<int> order{0, 1, 2, 3};
    shuffle(order, generator);
    auto factor = [&](double strength) {
        const double low = std::max(0.0, 1 - strength), high = 1 + strength;
        return low + (high - low) * generator.uniform();
    };
    const double brightness = jitter.brightness > 0 ? factor(jitter.brightness) : 1;
    const double contrast = jitter.contrast > 0 ? factor(jitter.contrast) : 1;
    const double saturation = jitter.saturation > 0 ? factor(jitter.saturation) : 1;
    const double hue = jitter.hue > 0 ? jitter.hue * (2 * generator.uniform() - 1) : 0;
    std::vector<double> rgb = detail::rgb_values(image);
    for (int step : order) {
        if (step == 0 && jitter.brightness > 0) detail::scale_brightness(rgb, brightness);
        if (step == 1 && jitter.contrast > 0) detail::scale_contrast(rgb, contrast);
        if (step == 2 && jitter.saturation > 0) detail::scale_saturation(rgb, saturation);
        if (step == 3 && jitter.hue > 0) detail::shift_hue(rgb, hue);
    }
    return detail::with_rgb_values(image, rgb);
}

// ---- JPEG ----

// The image as a JPEG decoder sees it after saving at `quality` (1..100) with stb_image_write;
// alpha, which JPEG cannot hold, is kept from the input.
inline Image jpeg_recompress(const Image& image, int quality) {
    if (quality < 1 || quality > 100) fail("jpeg_recompress: quality ", quality, " is outside 1..100");
    const std::string bytes = encode_image(image, ImageFormat::jpeg, quality);
    Image decoded = decode_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                                 "jpeg_recompress (quality " + std::to_string(quality) + ")");
    if (!image.has_alpha()) return decoded;
    Image result = image;
    for (std::int64_t i = 0; i < image.height * image.width; ++i)
        std::copy_n(&decoded.pixels[std::size_t(i * 3)], 3, &result.pixels[std::size_t(i * 4)]);
    return result;
}

// ---- Blur ----

// Gaussian blur of `channels`-interleaved float values in place: a separable kernel of radius
// ceil(3 sigma), normalised to sum 1, with the edge values repeated beyond the border.
inline void gaussian_blur_values(std::span<float> values, std::int64_t height, std::int64_t width,
                                 std::int64_t channels, double sigma) {
    if (!(sigma > 0) || !std::isfinite(sigma)) fail("gaussian_blur: sigma must be finite and > 0, got ", sigma);
    if (std::int64_t(values.size()) != height * width * channels)
        fail("gaussian_blur: ", values.size(), " values do not make a ", height, "x", width, "x", channels, " image");
    const std::int64_t radius = std::int64_t(std::ceil(3 * sigma));
    std::vector<double> kernel(std::size_t(2 * radius + 1));
    double total = 0;
    for (std::int64_t i = -radius; i <= radius; ++i)
        total += kernel[std::size_t(i + radius)] = std::exp(-double(i * i) / (2 * sigma * sigma));
    for (double& weight : kernel) weight /= total;

    // Blurs the `count` values `stride` apart from `start` (one row or column of one channel).
    std::vector<float> line;
    auto blur_line = [&](float* start, std::int64_t count, std::int64_t stride) {
        line.resize(std::size_t(count));
        for (std::int64_t i = 0; i < count; ++i) line[std::size_t(i)] = start[i * stride];
        for (std::int64_t i = 0; i < count; ++i) {
            double sum = 0;
            for (std::int64_t k = -radius; k <= radius; ++k)
                sum +=
                    kernel[std::size_t(k + radius)] * line[std::size_t(std::clamp<std::int64_t>(i + k, 0, count - 1))];
            start[i * stride] = float(sum);
        }
    };
    const std::int64_t row_stride = width * channels;
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t c = 0; c < channels; ++c) blur_line(values.data() + y * row_stride + c, width, channels);
    for (std::int64_t x = 0; x < width; ++x)
        for (std::int64_t c = 0; c < channels; ++c) blur_line(values.data() + x * channels + c, height, row_stride);
}

// Every channel (alpha too) blurred with gaussian_blur_values, rounded to the nearest integer.
inline Image gaussian_blur(const Image& image, double sigma) {
    std::vector<float> values(image.pixels.begin(), image.pixels.end());
    gaussian_blur_values(values, image.height, image.width, image.channels, sigma);
    Image result = image;
    for (std::size_t i = 0; i < values.size(); ++i)
        result.pixels[i] = std::uint8_t(std::lround(std::clamp(values[i], 0.0f, 255.0f)));
    return result;
}

// ---- Random resized crop ----

struct CropBox {
    std::int64_t top = 0, left = 0, height = 0, width = 0;
    bool operator==(const CropBox&) const = default;
};

// torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction drawn from
// `scale` and an aspect ratio (width / height) drawn log-uniformly from `ratio`, sizes rounded
// half to even like Python's round; a box that fits gets a uniform position. When none fits, the
// largest centred box whose aspect ratio is clamped into `ratio`.
inline CropBox random_crop_box(std::int64_t height, std::int64_t width, Generator& generator,
                               std::array<double, 2> scale = {0.08, 1.0},
                               std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0}) {
    if (height <= 0 || width <= 0)
        fail("random_resized_crop: the image size ", height, "x", width, " must be positive");
    if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
        fail("random_resized_crop: the area scale range [", scale[0], ", ", scale[1],
             "] must satisfy 0 < low <= high <= 1");
    if (!(ratio[0] > 0 && ratio[0] <= ratio[1] && std::isfinite(ratio[1])))
        fail("random_resized_crop: the aspect ratio range [", ratio[0], ", ", ratio[1],
             "] must satisfy 0 < low <= high");
    const double area = double(height) * double(width);
    const double log_low = std::log(ratio[0]), log_high = std::log(ratio[1]);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target_area = area * (scale[0] + (scale[1] - scale[0]) * generator.uniform());
        const double aspect = std::exp(log_low + (log_high - log_low) * generator.uniform());
        const auto box_width = std::int64_t(std::nearbyint(std::sqrt(target_area * aspect)));
        const auto box_height = std::int64_t(std::nearbyint(std::sqrt(target_area / aspect)));
        if (box_width > 0 && box_width <= width && box_height > 0 && box_height <= height) {
            const auto top = std::int64_t(generator.uniform_integer(std::uint64_t(height - box_height + 1)));
            const auto left = std::int64_t(generator.uniform_integer(std::uint64_t(width - box_width + 1)));
            return {top, left, box_height, box_width};
        }
    }
    const double image_ratio = double(width) / double(height);
    std::int64_t box_width = width, box_height = height;
    if (image_ratio < ratio[0])
        box_height = std::int64_t(std::nearbyint(double(width) / ratio[0]));
    else if (image_ratio > ratio[1])
        box_width = std::int64_t(std::nearbyint(double(height) * ratio[1]));
    return {(height - box_height) / 2, (width - box_width) / 2, box_height, box_width};
}

// A random_crop_box of the image resized to size x size with resize_bicubic.
inline Image random_resized_crop(const Image& image, std::int64_t size, Generator& generator,
                                 std::array<double, 2> scale = {0.08, 1.0},
                                 std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0}) {
    if (size <= 0) fail("random_resized_crop: the output size must be positive, got ", size);
    const CropBox box = random_crop_box(image.height, image.width, generator, scale, ratio);
    return resize_bicubic(crop(image, box.top, box.left, box.height, box.width), size, size);
}

// ---- Pipeline ----

// Which augmentations to apply, with what probability and strength. A probability of 0 switches a
// step off. Steps run in the order crop, flip, jitter, blur, jpeg (JPEG last, as when an image is
// stored), each drawing from the generator only when it is switched on.
//
// Text form (Augmentation::parse, Augmentation::text): comma-separated steps NAME[=VALUE][@P], each
// at most once, in any order; @P is the step's probability (default 0.5 for flip, 1 for the others).
//   flip                     horizontal flip
//   jitter=S or B:C:S:H      colour jitter (ColourJitter); one value S sets brightness, contrast and
//                            saturation to S and hue to 0
//   jpeg=LOW-HIGH or Q       JPEG re-compression at a quality drawn uniformly from LOW..HIGH (1..100)
//   blur=LOW-HIGH or S       Gaussian blur, sigma in pixels drawn uniformly from [LOW, HIGH]
//   crop=LOW-HIGH[:SIZE]     random resized crop of an area fraction in [LOW, HIGH] (0 < LOW <= HIGH
//                            <= 1), resized to SIZE x SIZE (default 224)
// Example: "crop=0.5-1,flip,jitter=0.2@0.8,blur=0.1-2@0.3,jpeg=60-95@0.5". An empty text is no
// augmentation.
struct Augmentation {
    double flip_probability = 0;
    double jitter_probability = 0;
    ColourJitter jitter;
    double blur_probability = 0;
    double blur_min_sigma = 0.1, blur_max_sigma = 2.0;
    double jpeg_probability = 0;
    int jpeg_min_quality = 60, jpeg_max_quality = 95;
    double crop_probability = 0;
    double crop_min_scale = 0.08, crop_max_scale = 1.0;
    std::int64_t crop_size = 224;

    bool operator==(const Augmentation&) const = default;

    static Augmentation parse(std::string_view text);
    // The text form of the steps switched on, with every setting spelled out; parse reads it back
    // to the same steps (switched-off steps come back with default settings).
    std::string text() const;
    // Fails naming the first field out of range.
    void check() const;
};

namespace detail {

inline std::string shortest_text(double value) {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, end);
}

// The step's probability must be in [0, 1]; a range low..high within [minimum, maximum].
inline void check_probability(double probability, std::string_view where) {
    if (!(probability >= 0 && probability <= 1)) fail(where, ": the probability ", probability, " is outside [0, 1]");
}
template <typename Number>
void check_ordered_range(Number low, Number high, Number minimum, Number maximum, std::string_view what,
                         std::string_view where) {
    if (!(low >= minimum && low <= high && high <= maximum))
        fail(where, ": the ", what, " range ", low, "-", high, " must be ordered (low <= high) and within [", minimum,
             ", ", maximum, "]");
}

// Reads all of `text` as a number; `part` (the step's text) is named when it is not one.
template <typename Number> Number parse_number(std::string_view text, std::string_view part) {
    Number value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        fail("augmentation '", part, "': '", text, "' is not a number");
    if constexpr (std::is_floating_point_v<Number>)
        if (!std::isfinite(value)) fail("augmentation '", part, "': '", text, "' is not a finite number");
    return value;
}

// "LOW-HIGH" or a single value (low = high). The dash of an exponent (1e-3) is not a separator.
template <typename Number> std::array<Number, 2> parse_range(std::string_view text, std::string_view part) {
    for (std::size_t i = 1; i < text.size(); ++i)
        if (text[i] == '-' && text[i - 1] != 'e' && text[i - 1] != 'E')
            return {parse_number<Number>(text.substr(0, i), part), parse_number<Number>(text.substr(i + 1), part)};
    const Number value = parse_number<Number>(text, part);
    return {value, value};
}

inline std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

} // namespace detail

inline void Augmentation::check() const {
    detail::check_probability(flip_probability, "Augmentation::flip_probability");
    detail::check_probability(jitter_probability, "Augmentation::jitter_probability");
    check_colour_jitter(jitter, "Augmentation::jitter");
    detail::check_probability(blur_probability, "Augmentation::blur_probability");
    if (!(blur_min_sigma > 0)) fail("Augmentation::blur_min_sigma: sigma must be > 0, got ", blur_min_sigma);
    detail::check_ordered_range(blur_min_sigma, blur_max_sigma, 0.0, 1e3, "blur sigma",
                                "Augmentation::blur_min/max_sigma");
    detail::check_probability(jpeg_probability, "Augmentation::jpeg_probability");
    detail::check_ordered_range(jpeg_min_quality, jpeg_max_quality, 1, 100, "JPEG quality",
                                "Augmentation::jpeg_min/max_quality");
    detail::check_probability(crop_probability, "Augmentation::crop_probability");
    if (!(crop_min_scale > 0))
        fail("Augmentation::crop_min_scale: the area fraction must be > 0, got ", crop_min_scale);
    detail::check_ordered_range(crop_min_scale, crop_max_scale, 0.0, 1.0, "crop area",
                                "Augmentation::crop_min/max_scale");
    if (crop_size <= 0) fail("Augmentation::crop_size: the output size must be positive, got ", crop_size);
}

inline Augmentation Augmentation::parse(std::string_view text) {
    Augmentation result;
    if (text.empty()) return result;
    std::vector<std::string> seen;
    for (std::string_view part : detail::split(text, ',')) {
        const std::string where = "augmentation '" + std::string(part) + "'";
        std::string_view step = part;
        double probability = -1; // not given
        if (const std::size_t at = step.find('@'); at != std::string_view::npos) {
            probability = detail::parse_number<double>(step.substr(at + 1), part);
            detail::check_probability(probability, where);
            step = step.substr(0, at);
        }
        const std::size_t equals = step.find('=');
        const std::string name(step.substr(0, equals));
        const std::string_view value = equals == std::string_view::npos ? std::string_view() : step.substr(equals + 1);
        const bool has_value = equals != std::string_view::npos;
        if (std::find(seen.begin(), seen.end(), name) != seen.end())
            fail(where, ": the step '", name, "' is given twice; give each step once");
        seen.push_back(name);
        auto need_value = [&](const char* form) {
            if (!has_value || value.empty()) fail(where, ": '", name, "' needs a value: ", form);
        };
        if (name == "flip") {
            if (has_value) fail(where, ": 'flip' takes no value (only a probability, as flip@0.5)");
            result.flip_probability = probability < 0 ? 0.5 : probability;
        } else if (name == "jitter") {
            need_value("jitter=S or jitter=B:C:S:H");
            const std::vector<std::string_view> fields = detail::split(value, ':');
            if (fields.size() == 1) {
                const double strength = detail::parse_number<double>(fields[0], part);
                result.jitter = {strength, strength, strength, 0};
            } else if (fields.size() == 4) {
                result.jitter = {
                    detail::parse_number<double>(fields[0], part), detail::parse_number<double>(fields[1], part),
                    detail::parse_number<double>(fields[2], part), detail::parse_number<double>(fields[3], part)};
            } else {
                fail(where, ": jitter takes 1 value (S) or 4 (B:C:S:H), not ", fields.size());
            }
            check_colour_jitter(result.jitter, where);
            result.jitter_probability = probability < 0 ? 1 : probability;
        } else if (name == "jpeg") {
            need_value("jpeg=LOW-HIGH or jpeg=QUALITY, within 1..100");
            const auto [low, high] = detail::parse_range<int>(value, part);
            detail::check_ordered_range(low, high, 1, 100, "JPEG quality", where);
            result.jpeg_min_quality = low, result.jpeg_max_quality = high;
            result.jpeg_probability = probability < 0 ? 1 : probability;
        } else if (name == "blur") {
            need_value("blur=LOW-HIGH or blur=SIGMA, in pixels");
            const auto [low, high] = detail::parse_range<double>(value, part);
            if (!(low > 0)) fail(where, ": the blur sigma must be > 0, got ", low);
            detail::check_ordered_range(low, high, 0.0, 1e3, "blur sigma", where);
            result.blur_min_sigma = low, result.blur_max_sigma = high;
            result.blur_probability = probability < 0 ? 1 : probability;
        } else if (name == "crop") {
            need_value("crop=LOW-HIGH[:SIZE]");
            const std::vector<std::string_view> fields = detail::split(value, ':');
            if (fields.size() > 2) fail(where, ": crop takes an area range and optionally a size, as crop=0.5-1:224");
            const auto [low, high] = detail::parse_range<double>(fields[0], part);
            if (!(low > 0)) fail(where, ": the crop area fraction must be > 0, got ", low);
            detail::check_ordered_range(low, high, 0.0, 1.0, "crop area", where);
            result.crop_min_scale = low, result.crop_max_scale = high;
            if (fields.size() == 2) {
                result.crop_size = detail::parse_number<std::int64_t>(fields[1], part);
                if (result.crop_size <= 0) fail(where, ": the crop size must be positive, got ", result.crop_size);
            }
            result.crop_probability = probability < 0 ? 1 : probability;
        } else {
            fail(where, ": unknown step '", name,
                 "'; the steps are flip, jitter, jpeg, blur and crop, as in "
                 "\"crop=0.5-1,flip,jitter=0.2,blur=0.1-2@0.3,jpeg=60-95@0.5\"");
        }
    }
    return result;
}

inline std::string Augmentation::text() const {
    using detail::shortest_text;
    std::vector<std::string> steps;
    auto probability = [](double p) { // appended, not "@" + std::string&&: GCC 12 reports a false -Wrestrict for that
        std::string text = "@";
        return text += shortest_text(p);
    };
    if (crop_probability > 0)
        steps.push_back("crop=" + shortest_text(crop_min_scale) + "-" + shortest_text(crop_max_scale) + ":" +
                        std::to_string(crop_size) + probability(crop_probability));
    if (flip_probability > 0) steps.push_back("flip" + probability(flip_probability));
    if (jitter_probability > 0)
        steps.push_back("jitter=" + shortest_text(jitter.brightness) + ":" + shortest_text(jitter.contrast) + ":" +
                        shortest_text(jitter.saturation) + ":" + shortest_text(jitter.hue) +
                        probability(jitter_probability));
    if (blur_probability > 0)
        steps.push_back("blur=" + shortest_text(blur_min_sigma) + "-" + shortest_text(blur_max_sigma) +
                        probability(blur_probability));
    if (jpeg_probability > 0)
        steps.push_back("jpeg=" + std::to_string(jpeg_min_quality) + "-" + std::to_string(jpeg_max_quality) +
                        probability(jpeg_probability));
    std::string result;
    for (const std::string& step : steps) result += (result.empty() ? "" : ",") + step;
    return result;
}

// One random augmentation of `image` (see Augmentation for the order of the steps).
inline Image augment(const Image& image, const Augmentation& options, Generator& generator) {
    options.check();
    auto happens = [&](double probability) {
        return probability > 0 && (probability >= 1 || generator.uniform() < probability);
    };
    Image result = image;
    if (happens(options.crop_probability))
        result =
            random_resized_crop(result, options.crop_size, generator, {options.crop_min_scale, options.crop_max_scale});
    if (happens(options.flip_probability)) result = horizontal_flip(result);
    if (happens(options.jitter_probability)) result = colour_jitter(result, options.jitter, generator);
    if (happens(options.blur_probability))
        result = gaussian_blur(result, options.blur_min_sigma +
                                           (options.blur_max_sigma - options.blur_min_sigma) * generator.uniform());
    if (happens(options.jpeg_probability))
        result = jpeg_recompress(
            result,
            options.jpeg_min_quality +
                int(generator.uniform_integer(std::uint64_t(options.jpeg_max_quality - options.jpeg_min_quality + 1))));
    return result;
}

} // namespace clipft::image
