#pragma once
// Face crops: the face's box grown by a margin, clamped to the image, optionally rotated so that the
// eyes are level (the alignment the thesis' preprocessing and most deepfake detectors apply).
// The landmarks come along in crop pixels, so that what is saved next to a crop describes the crop.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/faces/face.hpp>
#include <clipft/image/image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::faces {

struct CropOptions {
    // Added on each side, as a fraction of the box's width (left and right) and height (top and
    // bottom): 0.3 turns a 100 x 100 box into a 160 x 160 crop.
    double margin = 0.3;
    // Rotate about the crop's center so that the eye centers are level. Needs the 68 landmarks.
    bool align = false;
};

struct FaceCrop {
    image::Image image;
    std::vector<Point> landmarks; // the face's landmarks in crop pixels
    double rotation_degrees = 0;  // the eye line's angle in the source image that alignment undid
};

// The eye centers of 68 iBUG landmarks, as seen in the image: `left` is the mean of points 36-41
// (the person's right eye), `right` the mean of points 42-47.
struct EyeCenters {
    Point left, right;
};

inline EyeCenters eye_centers(const std::vector<Point>& landmarks) {
    if (landmarks.size() != 68)
        fail("eye_centers: ", landmarks.size(), " landmarks given; the eyes are points 36-47 of the 68-point scheme");
    auto mean = [&](std::size_t first) {
        Point sum{0, 0};
        // at(), though the size is checked above: GCC 12 warns (-Warray-bounds) on [] where a caller's
        // shorter list is inlined here, not seeing that fail() never returns.
        for (std::size_t i = first; i < first + 6; ++i) sum = {sum.x + landmarks.at(i).x, sum.y + landmarks.at(i).y};
        return Point{sum.x / 6, sum.y / 6};
    };
    return {mean(36), mean(42)};
}

// The angle (degrees, clockwise on screen since y points down) of the line from the left to the
// right eye center; 0 when the eyes are level.
inline double eye_line_degrees(const std::vector<Point>& landmarks) {
    EyeCenters eyes = eye_centers(landmarks);
    return std::atan2(eyes.right.y - eyes.left.y, eyes.right.x - eyes.left.x) * 180 / std::numbers::pi;
}

namespace detail {

// One channel of `image` at the real position (x, y) (pixel centers at whole numbers), bilinear;
// outside the image counts as black.
inline double sample_bilinear(const image::Image& image, double x, double y, std::int64_t channel) {
    const double x_floor = std::floor(x), y_floor = std::floor(y);
    const std::int64_t x0 = std::int64_t(x_floor), y0 = std::int64_t(y_floor);
    const double fx = x - x_floor, fy = y - y_floor;
    auto at = [&](std::int64_t row, std::int64_t column) -> double {
        if (row < 0 || column < 0 || row >= image.height || column >= image.width) return 0;
        return image.at(row, column, channel);
    };
    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
           fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

} // namespace detail

// Crops `face` out of `image` (see CropOptions). The crop covers the margin-grown box clipped to the
// image; aligned, it is the same rectangle turned about its center, and corners that then fall
// outside the image are black.
inline FaceCrop crop_face(const image::Image& image, const Face& face, const CropOptions& options = {}) {
    if (!(options.margin >= 0) || !std::isfinite(options.margin))
        fail("crop_face: the margin must be a fraction >= 0 of the box, got ", options.margin);
    if (face.box.width <= 0 || face.box.height <= 0)
        fail("crop_face: the face box is ", face.box.width, "x", face.box.height, "; it needs a positive size");
    const double grow_x = options.margin * double(face.box.width), grow_y = options.margin * double(face.box.height);
    const std::int64_t left = std::max<std::int64_t>(0, std::llround(double(face.box.left) - grow_x));
    const std::int64_t top = std::max<std::int64_t>(0, std::llround(double(face.box.top) - grow_y));
    const std::int64_t right =
        std::min<std::int64_t>(image.width, std::llround(double(face.box.left + face.box.width) + grow_x));
    const std::int64_t bottom =
        std::min<std::int64_t>(image.height, std::llround(double(face.box.top + face.box.height) + grow_y));
    if (right <= left || bottom <= top)
        fail("crop_face: the face box (left ", face.box.left, ", top ", face.box.top, ", ", face.box.width, "x",
             face.box.height, ") lies outside the ", image.width, "x", image.height, " image");

    FaceCrop crop;
    crop.image = image::Image(bottom - top, right - left, image.channels);
    if (!options.align) {
        for (std::int64_t y = top; y < bottom; ++y)
            std::copy(image.row(y) + left * image.channels, image.row(y) + right * image.channels,
                      crop.image.row(y - top));
        for (const Point& point : face.landmarks)
            crop.landmarks.push_back({point.x - double(left), point.y - double(top)});
        return crop;
    }

    if (face.landmarks.size() != 68)
        fail("crop_face: alignment needs the face's 68 landmarks, it has ", face.landmarks.size(),
             " (detect with landmarks, or crop without alignment)");
    crop.rotation_degrees = eye_line_degrees(face.landmarks);
    const double angle = crop.rotation_degrees * std::numbers::pi / 180, cosine = std::cos(angle),
                 sine = std::sin(angle);
    // Crop pixel (u, v) shows the source point center + R(angle) (u - u_c, v - v_c): the crop's x
    // axis runs along the eye line.
    const double crop_center_x = double(right - left - 1) / 2, crop_center_y = double(bottom - top - 1) / 2;
    const double center_x = double(left) + crop_center_x, center_y = double(top) + crop_center_y;
    for (std::int64_t v = 0; v < crop.image.height; ++v) {
        std::uint8_t* out = crop.image.row(v);
        for (std::int64_t u = 0; u < crop.image.width; ++u) {
            const double du = double(u) - crop_center_x, dv = double(v) - crop_center_y;
            const double x = center_x + cosine * du - sine * dv, y = center_y + sine * du + cosine * dv;
            for (std::int64_t c = 0; c < image.channels; ++c)
                *out++ = std::uint8_t(std::clamp(std::lround(detail::sample_bilinear(image, x, y, c)), 0L, 255L));
        }
    }
    for (const Point& point : face.landmarks) {
        const double dx = point.x - center_x, dy = point.y - center_y;
        crop.landmarks.push_back({crop_center_x + cosine * dx + sine * dy, crop_center_y - sine * dx + cosine * dy});
    }
    return crop;
}

} // namespace clipft::faces
