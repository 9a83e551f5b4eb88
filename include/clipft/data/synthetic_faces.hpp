#pragma once
// Face-like pictures drawn procedurally, with their 68 landmarks in dlib's order, so that the
// whole method (self-blended fakes, fine-tuning, evaluation) runs on a fresh machine with no data
// and nothing downloaded (`clipft demo`). They are not photographs: an oval face with shading,
// hair, eyes, brows, nose and mouth over a varied background, every proportion and colour drawn
// at random, then sensor-like noise.
//
// Landmarks (image coordinates, pixels): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth
// 48-67, the layout of dlib's shape_predictor_68_face_landmarks.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/faces/self_blend.hpp>
#include <clipft/image/image.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::data {

struct SyntheticFace {
    image::Image image;
    std::vector<faces::Point> landmarks; // 68 points
};

namespace detail {

using Colour = std::array<double, 3>;

inline Colour mix(const Colour& a, const Colour& b, double t) {
    return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// Coverage of a shape from a signed distance (negative inside), antialiased over about one pixel.
inline double coverage(double signed_distance_pixels) { return std::clamp(0.5 - signed_distance_pixels, 0.0, 1.0); }

// The face's own frame: centre, radii and rotation; maps face coordinates (unit = face radius) to pixels.
struct FaceFrame {
    double cx, cy, rx, ry, angle;
    faces::Point to_image(double u, double v) const {
        double x = u * rx, y = v * ry, c = std::cos(angle), s = std::sin(angle);
        return {cx + c * x - s * y, cy + s * x + c * y};
    }
    // Face coordinates of a pixel.
    std::array<double, 2> to_face(double x, double y) const {
        double dx = x - cx, dy = y - cy, c = std::cos(angle), s = std::sin(angle);
        return {(c * dx + s * dy) / rx, (-s * dx + c * dy) / ry};
    }
};

// Signed distance, in pixels (approximately), of face point (u, v) to an ellipse centred at
// (eu, ev) with radii (a, b) in face units.
inline double ellipse_distance(const FaceFrame& frame, double u, double v, double eu, double ev, double a, double b) {
    double nu = (u - eu) / a, nv = (v - ev) / b, r = std::sqrt(nu * nu + nv * nv);
    return (r - 1) * std::min(a * frame.rx, b * frame.ry);
}

} // namespace detail

inline SyntheticFace synthetic_face(std::int64_t size, Generator& generator) {
    using detail::Colour;
    if (size < 32) fail("synthetic_face: size ", size, " is too small; use at least 32 pixels");
    auto uniform = [&](double low, double high) { return low + (high - low) * generator.uniform(); };
    const double s = double(size);

    detail::FaceFrame frame{s * uniform(0.44, 0.56), s * uniform(0.5, 0.6), s * uniform(0.25, 0.31),
                            s * uniform(0.33, 0.4), uniform(-0.2, 0.2)};
    const Colour skin = detail::mix(Colour{95, 60, 40}, Colour{245, 210, 180}, uniform(0, 1));
    const Colour hair = detail::mix(Colour{20, 15, 10}, Colour{200, 160, 90}, std::pow(uniform(0, 1), 2));
    const Colour background_top{uniform(20, 235), uniform(20, 235), uniform(20, 235)};
    const Colour background_bottom{uniform(20, 235), uniform(20, 235), uniform(20, 235)};
    const Colour iris = detail::mix(Colour{40, 25, 15}, Colour{70, 120, 160}, uniform(0, 1));
    const Colour lips = detail::mix(skin, Colour{170, 60, 70}, uniform(0.35, 0.7));
    const double eye_u = uniform(0.32, 0.42), eye_v = uniform(-0.25, -0.12), eye_a = uniform(0.13, 0.18),
                 eye_b = uniform(0.05, 0.08);
    const double brow_v = eye_v - uniform(0.14, 0.2), mouth_v = uniform(0.42, 0.55), mouth_a = uniform(0.22, 0.34),
                 mouth_b = uniform(0.05, 0.09), nose_v = uniform(0.18, 0.28), hair_line = uniform(-0.75, -0.45);

    std::vector<faces::Point> landmarks;
    for (int t = 0; t <= 16; ++t) { // jaw: from the left at eye level, round the chin, to the right
        double phi = std::numbers::pi - 0.2 + t * (std::numbers::pi + 0.4) / 16;
        landmarks.push_back(frame.to_image(std::cos(phi), -std::sin(phi)));
    }
    for (double side : {-1.0, 1.0}) // brows, each from its outer to its inner end in image order
        for (int t = 0; t < 5; ++t) {
            double u = side < 0 ? -eye_u - 0.16 + t * 0.08 : eye_u - 0.16 + t * 0.08;
            double lift = 0.04 * std::sin(std::numbers::pi * t / 4);
            landmarks.push_back(frame.to_image(u, brow_v - lift));
        }
    for (int t = 0; t < 4; ++t) landmarks.push_back(frame.to_image(0, eye_v + (nose_v - eye_v) * t / 3)); // bridge
    for (int t = 0; t < 5; ++t)
        landmarks.push_back(frame.to_image(-0.12 + 0.06 * t, nose_v + 0.05 - 0.02 * std::abs(t - 2)));
    for (double side : {-1.0, 1.0}) // eyes: 6 points round each, starting at the outer corner
        for (int t = 0; t < 6; ++t) {
            double phi = std::numbers::pi * t / 3;
            landmarks.push_back(frame.to_image(side * eye_u - eye_a * std::cos(phi), eye_v - eye_b * std::sin(phi)));
        }
    for (int t = 0; t < 12; ++t) { // outer lips
        double phi = 2 * std::numbers::pi * t / 12;
        landmarks.push_back(frame.to_image(-mouth_a * std::cos(phi), mouth_v - mouth_b * std::sin(phi)));
    }
    for (int t = 0; t < 8; ++t) { // inner lips
        double phi = 2 * std::numbers::pi * t / 8;
        landmarks.push_back(frame.to_image(-0.7 * mouth_a * std::cos(phi), mouth_v - 0.35 * mouth_b * std::sin(phi)));
    }

    image::Image picture(size, size, 3);
    for (std::int64_t y = 0; y < size; ++y)
        for (std::int64_t x = 0; x < size; ++x) {
            double px = double(x) + 0.5, py = double(y) + 0.5;
            auto [u, v] = frame.to_face(px, py);
            Colour colour = detail::mix(background_top, background_bottom, py / s);
            // Hair: a larger ellipse behind the head, above the hair line.
            double hair_cover = detail::coverage(detail::ellipse_distance(frame, u, v, 0, -0.1, 1.12, 1.08)) *
                                std::clamp((0.2 - v) * 4, 0.0, 1.0);
            colour = detail::mix(colour, hair, hair_cover);
            double face_cover = detail::coverage(detail::ellipse_distance(frame, u, v, 0, 0, 1, 1));
            double radial = std::sqrt(u * u + v * v);
            Colour shaded = detail::mix(skin, Colour{skin[0] * 0.6, skin[1] * 0.55, skin[2] * 0.5},
                                        std::clamp(radial - 0.55, 0.0, 1.0));
            colour = detail::mix(colour, shaded, face_cover);
            colour = detail::mix(colour, hair, face_cover * std::clamp((hair_line - v) * 6, 0.0, 1.0)); // fringe
            for (double side : {-1.0, 1.0}) {
                double eye = detail::coverage(detail::ellipse_distance(frame, u, v, side * eye_u, eye_v, eye_a, eye_b));
                colour = detail::mix(colour, Colour{235, 232, 225}, eye);
                colour = detail::mix(
                    colour, iris,
                    eye * detail::coverage(detail::ellipse_distance(frame, u, v, side * eye_u, eye_v, eye_b, eye_b)));
                colour = detail::mix(colour, Colour{10, 10, 10},
                                     eye * detail::coverage(detail::ellipse_distance(frame, u, v, side * eye_u, eye_v,
                                                                                     eye_b * 0.45, eye_b * 0.45)));
                double brow =
                    detail::coverage(detail::ellipse_distance(frame, u, v, side * eye_u, brow_v, 0.18, 0.035));
                colour = detail::mix(colour, detail::mix(hair, Colour{30, 25, 20}, 0.5), brow);
            }
            double nose = detail::coverage(
                detail::ellipse_distance(frame, u, v, 0.03, (eye_v + nose_v) / 2, 0.035, (nose_v - eye_v) / 2));
            colour = detail::mix(colour, Colour{skin[0] * 0.8, skin[1] * 0.72, skin[2] * 0.68}, 0.6 * nose);
            for (double side : {-1.0, 1.0})
                colour = detail::mix(
                    colour, Colour{skin[0] * 0.45, skin[1] * 0.35, skin[2] * 0.3},
                    detail::coverage(detail::ellipse_distance(frame, u, v, side * 0.07, nose_v + 0.03, 0.03, 0.02)));
            colour = detail::mix(colour, lips,
                                 detail::coverage(detail::ellipse_distance(frame, u, v, 0, mouth_v, mouth_a, mouth_b)));
            colour = detail::mix(
                colour, Colour{60, 20, 25},
                detail::coverage(detail::ellipse_distance(frame, u, v, 0, mouth_v, 0.7 * mouth_a, 0.2 * mouth_b)));
            for (int c = 0; c < 3; ++c)
                picture.at(y, x, c) =
                    std::uint8_t(std::clamp(std::lround(colour[std::size_t(c)] + 4 * generator.normal()), 0L, 255L));
        }
    return {std::move(picture), std::move(landmarks)};
}

// The kinds of forgery a synthetic task can hold.
enum class FakeKind {
    self_blended, // a face blended into itself (Shiohara and Yamasaki's self-blended images)
    face_swap     // another synthetic person's face aligned and blended onto the face
};

// The name of a manipulation, as `clipft synth` names its folder (the subset of its fakes).
inline std::string fake_kind_name(FakeKind kind) { return kind == FakeKind::self_blended ? "SelfBlended" : "FaceSwap"; }

// A labelled set of synthetic faces: real ones (label 0, no subset) and fakes (label 1) whose subset
// names their manipulation, as in the dataset folder layout (root/fake/<manipulation>/...).
struct SyntheticDeepfakes {
    std::vector<image::Image> images;
    std::vector<std::int64_t> labels;
    std::vector<std::string> subsets;       // per image: "" for a real face, else its manipulation's name
    std::vector<std::string> manipulations; // the manipulations' names, in the order they were asked for

    // One class per manipulation: reals 0, the fakes of manipulations[m] class m + 1 (for N-class
    // fine-tuning, e.g. real, self-blended, face swap).
    std::vector<std::int64_t> labels_by_manipulation() const {
        std::vector<std::int64_t> result;
        for (const std::string& subset : subsets)
            result.push_back(subset.empty() ? 0
                                            : 1 + (std::find(manipulations.begin(), manipulations.end(), subset) -
                                                   manipulations.begin()));
        return result;
    }
    // The class names of labels_by_manipulation(): "real", then the manipulations'.
    std::vector<std::string> classes_by_manipulation() const {
        std::vector<std::string> names{"real"};
        names.insert(names.end(), manipulations.begin(), manipulations.end());
        return names;
    }
};

// `per_class` real faces and `per_class` fakes of each manipulation of `kinds` (one set of reals
// shared by all), interleaved real, kinds[0], kinds[1], ..., real, ..., blended with `blend`. Picture
// i is drawn from its own generator (seeded from `seed` and i), so the set is the same whatever the
// thread count.
inline SyntheticDeepfakes synthetic_deepfakes(std::int64_t per_class, std::int64_t size,
                                              const std::vector<FakeKind>& kinds, std::uint64_t seed,
                                              const faces::SelfBlendOptions& blend = {}) {
    if (per_class < 1) fail("synthetic_deepfakes: per_class must be >= 1, got ", per_class);
    if (kinds.empty()) fail("synthetic_deepfakes: give at least one manipulation");
    for (std::size_t m = 0; m < kinds.size(); ++m)
        if (std::find(kinds.begin(), kinds.begin() + std::ptrdiff_t(m), kinds[m]) != kinds.begin() + std::ptrdiff_t(m))
            fail("synthetic_deepfakes: manipulation ", fake_kind_name(kinds[m]), " is asked for twice");
    const std::int64_t stride = 1 + std::int64_t(kinds.size()), total = stride * per_class;
    SyntheticDeepfakes set;
    set.images.resize(std::size_t(total));
    backend::parallel_for(total, 4, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            Generator generator(seed * 1000003 + std::uint64_t(i));
            SyntheticFace face = synthetic_face(size, generator);
            image::Image& out = set.images[std::size_t(i)];
            const std::int64_t slot = i % stride;
            if (slot == 0)
                out = std::move(face.image);
            else if (kinds[std::size_t(slot - 1)] == FakeKind::self_blended)
                out = faces::self_blend(face.image, face.landmarks, generator, blend).fake;
            else {
                SyntheticFace donor = synthetic_face(size, generator);
                out =
                    faces::blend_donor(face.image, face.landmarks, donor.image, donor.landmarks, generator, blend).fake;
            }
        }
    });
    for (FakeKind kind : kinds) set.manipulations.push_back(fake_kind_name(kind));
    for (std::int64_t i = 0; i < total; ++i) {
        const std::int64_t slot = i % stride;
        set.labels.push_back(slot == 0 ? 0 : 1);
        set.subsets.push_back(slot == 0 ? "" : set.manipulations[std::size_t(slot - 1)]);
    }
    return set;
}

// `per_class` real faces and `per_class` fakes of one manipulation, interleaved real, fake, real, ...
inline SyntheticDeepfakes synthetic_deepfakes(std::int64_t per_class, std::int64_t size, FakeKind kind,
                                              std::uint64_t seed, const faces::SelfBlendOptions& blend = {}) {
    return synthetic_deepfakes(per_class, size, std::vector<FakeKind>{kind}, seed, blend);
}

} // namespace clipft::data
