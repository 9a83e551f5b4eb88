#pragma once
// Self-blended images (Shiohara and Yamasaki, "Detecting Deepfakes with Self-Blended Images",
// CVPR 2022): forgeries made from real faces alone, so that a detector can be trained without fake
// videos. A copy of the face whose colours, resolution, size and position were jittered slightly (the
// pseudo "source") is blended into the untouched image (the "target") inside a soft mask: the
// convex hull of the landmarks, randomly deformed, shrunk by a random erosion, blurred by a random
// Gaussian and scaled by a blend ratio. What a detector can learn from the result is what every face
// swap leaves behind: a blending boundary and statistics that differ inside and outside it.
// blend_donor does the same with a different person's face aligned onto the target's landmarks.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/faces/landmarks.hpp>
#include <clipft/image/augment.hpp>
#include <clipft/image/image.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::faces {

// Sizes of the mask are fractions of the face size, the square root of the landmarks' hull area.
// The defaults follow the paper's magnitudes.
struct SelfBlendOptions {
    // Colour statistics of the blended-in copy (the source's colours differ from the target's).
    image::ColourJitter colour_jitter{0.1, 0.1, 0.1, 0.02};
    // With this probability the copy is down-scaled by a factor in [min, max] and scaled back up
    // (bicubic), so that its resolution differs from the target's.
    double downscale_probability = 0.5, min_downscale = 0.5, max_downscale = 0.9;
    // Landmark mismatch: the copy is scaled about the face centre by a factor in [1 - s, 1 + s] and
    // shifted by up to this fraction of the face's width (x) and height (y).
    double max_scale_change = 0.05, max_shift = 0.03;
    // Each point of the hull moves radially (from the hull's centroid) by up to this fraction of
    // its distance, along a random smooth curve of 1 to 6 waves per turn and a random overall scale.
    double mask_deformation = 0.1;
    // The rasterised mask is eroded by a whole number of pixels in [min, max] x face size, then
    // blurred with sigma in [min, max] x face size: the width of the blending boundary.
    double min_erosion = 0.0, max_erosion = 0.05;
    double min_edge_blur = 0.01, max_edge_blur = 0.05;
    // The mask's peak is one of these, drawn uniformly (the paper's {0.25, 0.5, 0.75, 1, 1, 1}).
    std::vector<double> blend_ratios{0.25, 0.5, 0.75, 1.0, 1.0, 1.0};
};

struct BlendedFace {
    image::Image fake;       // the target's size and channels
    std::vector<float> mask; // height x width, in [0, 1]: the weight of the source in each pixel
};

namespace detail {

inline void check_options(const SelfBlendOptions& options) {
    image::check_colour_jitter(options.colour_jitter, "SelfBlendOptions::colour_jitter");
    auto range = [](double low, double high, double minimum, double maximum, const char* names) {
        if (!(low >= minimum && low <= high && high <= maximum))
            fail("SelfBlendOptions::", names, ": [", low, ", ", high, "] must be ordered and within [", minimum, ", ",
                 maximum, "]");
    };
    auto within = [](double value, double minimum, double maximum, const char* name) {
        if (!(value >= minimum && value <= maximum))
            fail("SelfBlendOptions::", name, ": ", value, " is outside [", minimum, ", ", maximum, "]");
    };
    within(options.downscale_probability, 0, 1, "downscale_probability");
    range(options.min_downscale, options.max_downscale, 1e-3, 1, "min/max_downscale");
    within(options.max_scale_change, 0, 0.5, "max_scale_change");
    within(options.max_shift, 0, 1, "max_shift");
    within(options.mask_deformation, 0, 0.9, "mask_deformation");
    range(options.min_erosion, options.max_erosion, 0, 1, "min/max_erosion");
    range(options.min_edge_blur, options.max_edge_blur, 1e-6, 1, "min/max_edge_blur");
    if (options.blend_ratios.empty()) fail("SelfBlendOptions::blend_ratios: give at least one ratio in (0, 1]");
    for (double ratio : options.blend_ratios)
        if (!(ratio > 0 && ratio <= 1)) fail("SelfBlendOptions::blend_ratios: ", ratio, " is outside (0, 1]");
}

inline double uniform_between(Generator& generator, double low, double high) {
    return low + (high - low) * generator.uniform();
}

// The hull's vertices as a closed polygon of `count` points evenly spaced along its perimeter, each
// moved radially from the centroid by a factor 1 + d(angle), d a random trigonometric polynomial
// with |d| <= deformation. The hull is star-shaped about its centroid, so the result stays a
// simple polygon.
inline std::vector<Point> deformed_outline(const std::vector<Point>& hull, const Point& centroid, double deformation,
                                           Generator& generator) {
    constexpr int waves = 6, count = 256;
    std::array<double, waves + 1> amplitude, phase;
    for (int k = 0; k <= waves; ++k) {
        amplitude[std::size_t(k)] = deformation / (waves + 1) * (2 * generator.uniform() - 1);
        phase[std::size_t(k)] = 2 * std::numbers::pi * generator.uniform();
    }
    double perimeter = 0;
    for (std::size_t i = 0; i < hull.size(); ++i) {
        const Point& a = hull[i];
        const Point& b = hull[(i + 1) % hull.size()];
        perimeter += std::hypot(b.x - a.x, b.y - a.y);
    }
    std::vector<Point> outline;
    outline.reserve(count);
    std::size_t edge = 0;
    double edge_start = 0; // perimeter length where `edge` begins
    for (int i = 0; i < count; ++i) {
        const double position = perimeter * i / count;
        auto edge_length = [&] {
            const Point& a = hull[edge];
            const Point& b = hull[(edge + 1) % hull.size()];
            return std::hypot(b.x - a.x, b.y - a.y);
        };
        while (edge + 1 < hull.size() && position >= edge_start + edge_length()) edge_start += edge_length(), ++edge;
        const Point& a = hull[edge];
        const Point& b = hull[(edge + 1) % hull.size()];
        const double length = edge_length(), t = length > 0 ? (position - edge_start) / length : 0;
        const Point point{a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)};
        const double angle = std::atan2(point.y - centroid.y, point.x - centroid.x);
        double factor = 1 + amplitude[0] * std::cos(phase[0]);
        for (int k = 1; k <= waves; ++k)
            factor += amplitude[std::size_t(k)] * std::cos(k * angle + phase[std::size_t(k)]);
        outline.push_back({centroid.x + factor * (point.x - centroid.x), centroid.y + factor * (point.y - centroid.y)});
    }
    return outline;
}

// A window of the image: columns [left, right), rows [top, bottom).
struct Window {
    std::int64_t left = 0, top = 0, right = 0, bottom = 0;
    std::int64_t width() const { return right - left; }
    std::int64_t height() const { return bottom - top; }
};

// 1 for the window's pixels whose centre (x, y) lies inside the polygon (even-odd rule), else 0.
inline std::vector<float> rasterise(const std::vector<Point>& polygon, const Window& window) {
    std::vector<float> mask(std::size_t(window.width() * window.height()), 0.0f);
    std::vector<double> crossings;
    for (std::int64_t y = window.top; y < window.bottom; ++y) {
        crossings.clear();
        for (std::size_t i = 0; i < polygon.size(); ++i) {
            const Point& a = polygon[i];
            const Point& b = polygon[(i + 1) % polygon.size()];
            if ((a.y <= double(y)) != (b.y <= double(y)))
                crossings.push_back(a.x + (double(y) - a.y) * (b.x - a.x) / (b.y - a.y));
        }
        std::sort(crossings.begin(), crossings.end());
        for (std::size_t i = 0; i + 1 < crossings.size(); i += 2) {
            const auto first = std::max(window.left, std::int64_t(std::ceil(crossings[i])));
            const auto last = std::min(window.right - 1, std::int64_t(std::floor(crossings[i + 1])));
            for (std::int64_t x = first; x <= last; ++x)
                mask[std::size_t((y - window.top) * window.width() + (x - window.left))] = 1.0f;
        }
    }
    return mask;
}

// Binary erosion by a (2 radius + 1)-pixel square, separably (a minimum along rows, then columns),
// with the edge pixels repeated beyond the window.
inline void erode(std::vector<float>& mask, std::int64_t height, std::int64_t width, std::int64_t radius) {
    std::vector<float> line;
    auto erode_line = [&](float* start, std::int64_t count, std::int64_t stride) {
        line.assign(std::size_t(count), 0.0f);
        for (std::int64_t i = 0; i < count; ++i) line[std::size_t(i)] = start[i * stride];
        for (std::int64_t i = 0; i < count; ++i) {
            float lowest = 1.0f;
            for (std::int64_t k = std::max<std::int64_t>(0, i - radius); k <= std::min(count - 1, i + radius); ++k)
                lowest = std::min(lowest, line[std::size_t(k)]);
            start[i * stride] = lowest;
        }
    };
    for (std::int64_t y = 0; y < height; ++y) erode_line(mask.data() + y * width, width, 1);
    for (std::int64_t x = 0; x < width; ++x) erode_line(mask.data() + x, height, width);
}

// The pixel at (x, y) of `image`, bilinearly interpolated, edge pixels repeated beyond the border.
inline std::array<double, 3> sample_bilinear(const image::Image& image, double x, double y) {
    const double column = std::floor(x), row = std::floor(y), fx = x - column, fy = y - row;
    auto clamp_column = [&](double value) { return std::int64_t(std::clamp(value, 0.0, double(image.width - 1))); };
    auto clamp_row = [&](double value) { return std::int64_t(std::clamp(value, 0.0, double(image.height - 1))); };
    const std::int64_t x0 = clamp_column(column), x1 = clamp_column(column + 1);
    const std::int64_t y0 = clamp_row(row), y1 = clamp_row(row + 1);
    std::array<double, 3> result;
    for (std::int64_t c = 0; c < 3; ++c)
        result[std::size_t(c)] = (1 - fy) * ((1 - fx) * image.at(y0, x0, c) + fx * image.at(y0, x1, c)) +
                                 fy * ((1 - fx) * image.at(y1, x0, c) + fx * image.at(y1, x1, c));
    return result;
}

// The blend of `source`, seen through `target_to_source`, into `target` inside the randomly
// generated mask. Draws, in order: colour jitter, down-scaling, scale and shift, outline
// deformation, erosion, edge blur, blend ratio.
inline BlendedFace blend_into(const image::Image& target, const std::vector<Point>& landmarks,
                              const image::Image& source, const SimilarityTransform& target_to_source,
                              Generator& generator, const SelfBlendOptions& options, const char* operation) {
    check_options(options);
    if (target.pixels.empty() || source.pixels.empty()) fail(operation, ": the image is empty");
    if (landmarks.size() < 3)
        fail(operation, ": ", landmarks.size(), " landmarks given; the face's outline needs at least 3");
    const std::vector<Point> hull = convex_hull(landmarks);
    if (hull.size() < 3) fail(operation, ": the ", landmarks.size(), " landmarks are collinear; they outline no face");
    double twice_area = 0, centroid_x = 0, centroid_y = 0;
    for (std::size_t i = 0; i < hull.size(); ++i) {
        const Point& a = hull[i];
        const Point& b = hull[(i + 1) % hull.size()];
        const double term = a.x * b.y - b.x * a.y;
        twice_area += term;
        centroid_x += (a.x + b.x) * term;
        centroid_y += (a.y + b.y) * term;
    }
    const Point centroid{centroid_x / (3 * twice_area), centroid_y / (3 * twice_area)};
    const double face_size = std::sqrt(twice_area / 2);
    double hull_left = hull[0].x, hull_right = hull[0].x, hull_top = hull[0].y, hull_bottom = hull[0].y;
    for (const Point& point : hull) {
        hull_left = std::min(hull_left, point.x), hull_right = std::max(hull_right, point.x);
        hull_top = std::min(hull_top, point.y), hull_bottom = std::max(hull_bottom, point.y);
    }

    // The pseudo source: colours, resolution, then geometry.
    image::Image copy = image::colour_jitter(source, options.colour_jitter, generator);
    if (options.downscale_probability > 0 && generator.uniform() < options.downscale_probability) {
        const double factor = uniform_between(generator, options.min_downscale, options.max_downscale);
        const auto small_height = std::max<std::int64_t>(1, std::llround(double(copy.height) * factor));
        const auto small_width = std::max<std::int64_t>(1, std::llround(double(copy.width) * factor));
        copy = image::resize_bicubic(image::resize_bicubic(copy, small_height, small_width), copy.height, copy.width);
    }
    const double scale = 1 + options.max_scale_change * (2 * generator.uniform() - 1);
    const double shift_x = options.max_shift * (hull_right - hull_left) * (2 * generator.uniform() - 1);
    const double shift_y = options.max_shift * (hull_bottom - hull_top) * (2 * generator.uniform() - 1);
    // Target pixel p shows the copy's point centroid + (p - centroid - shift) / scale.
    const SimilarityTransform jitter{1 / scale, 0, centroid.x - (centroid.x + shift_x) / scale,
                                     centroid.y - (centroid.y + shift_y) / scale};
    const SimilarityTransform to_copy = target_to_source.after(jitter);

    // The mask, computed in a window around the outline wide enough for the blur.
    const std::vector<Point> outline = deformed_outline(hull, centroid, options.mask_deformation, generator);
    const auto erosion =
        std::int64_t(std::llround(uniform_between(generator, options.min_erosion, options.max_erosion) * face_size));
    const double sigma = uniform_between(generator, options.min_edge_blur, options.max_edge_blur) * face_size;
    const double ratio = options.blend_ratios[generator.uniform_integer(options.blend_ratios.size())];
    double left = outline[0].x, right = left, top = outline[0].y, bottom = top;
    for (const Point& point : outline)
        left = std::min(left, point.x), right = std::max(right, point.x), top = std::min(top, point.y),
        bottom = std::max(bottom, point.y);
    const double margin = std::ceil(3 * sigma) + 2;
    Window window{std::max<std::int64_t>(0, std::int64_t(std::floor(left - margin))),
                  std::max<std::int64_t>(0, std::int64_t(std::floor(top - margin))),
                  std::min<std::int64_t>(target.width, std::int64_t(std::ceil(right + margin)) + 1),
                  std::min<std::int64_t>(target.height, std::int64_t(std::ceil(bottom + margin)) + 1)};
    if (window.width() <= 0 || window.height() <= 0)
        fail(operation, ": the landmarks lie outside the ", target.height, "x", target.width, " image");
    std::vector<float> mask = rasterise(outline, window);
    if (std::find(mask.begin(), mask.end(), 1.0f) == mask.end())
        fail(operation, ": the landmarks' outline covers no pixel of the ", target.height, "x", target.width, " image");
    if (erosion > 0) {
        std::vector<float> eroded = mask;
        erode(eroded, window.height(), window.width(), erosion);
        // A face too small for the drawn erosion keeps its whole outline rather than vanish.
        if (std::find(eroded.begin(), eroded.end(), 1.0f) != eroded.end()) mask = std::move(eroded);
    }
    image::gaussian_blur_values(mask, window.height(), window.width(), 1, sigma);

    BlendedFace result{target, std::vector<float>(std::size_t(target.height * target.width), 0.0f)};
    for (std::int64_t y = window.top; y < window.bottom; ++y)
        for (std::int64_t x = window.left; x < window.right; ++x) {
            const float weight = std::clamp(
                float(ratio) * mask[std::size_t((y - window.top) * window.width() + (x - window.left))], 0.0f, 1.0f);
            if (weight == 0.0f) continue;
            result.mask[std::size_t(y * target.width + x)] = weight;
            const Point at = to_copy.apply({double(x), double(y)});
            const std::array<double, 3> colour = sample_bilinear(copy, at.x, at.y);
            for (std::int64_t c = 0; c < 3; ++c) {
                std::uint8_t& pixel = result.fake.at(y, x, c);
                pixel = std::uint8_t(
                    std::lround(std::clamp(weight * colour[std::size_t(c)] + (1 - weight) * pixel, 0.0, 255.0)));
            }
        }
    return result;
}

} // namespace detail

// A self-blended forgery of `face`: a jittered copy of the face blended into itself. `landmarks`
// are any points on the face in image pixels (dlib's 68, a .tem template's, ...), at least 3 and
// not all collinear; their convex hull is the region that is blended. Pixels where the returned
// mask is 0 are the input's exactly. The same generator state gives the same result.
inline BlendedFace self_blend(const image::Image& face, const std::vector<Point>& landmarks, Generator& generator,
                              const SelfBlendOptions& options = {}) {
    return detail::blend_into(face, landmarks, face, SimilarityTransform{}, generator, options, "self_blend");
}

// A face-swap-like forgery: `donor`'s face, aligned onto `target` by the similarity transform that
// maps the donor's landmarks onto the target's in the least-squares sense (so both lists must
// follow the same scheme, point for point), then jittered and blended as self_blend does inside
// the target's landmark hull. Where the aligned donor image does not reach, its edge pixels are
// repeated.
inline BlendedFace blend_donor(const image::Image& target, const std::vector<Point>& target_landmarks,
                               const image::Image& donor, const std::vector<Point>& donor_landmarks,
                               Generator& generator, const SelfBlendOptions& options = {}) {
    if (donor_landmarks.size() != target_landmarks.size())
        fail("blend_donor: the donor has ", donor_landmarks.size(), " landmarks and the target ",
             target_landmarks.size(), "; both need the same landmark scheme, point for point");
    const SimilarityTransform target_to_donor = fit_similarity(donor_landmarks, target_landmarks).inverse();
    return detail::blend_into(target, target_landmarks, donor, target_to_donor, generator, options, "blend_donor");
}

} // namespace clipft::faces
