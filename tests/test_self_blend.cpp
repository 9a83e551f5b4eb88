// Self-blended images and the landmark geometry under them: .tem files (the shared photographs'
// landmarks), convex hulls and similarity fits checked against hand-made cases, then the SBI
// invariants on a synthetic face and on real photographs: the fake equals the source wherever the
// mask is 0, the mask is soft and stays near the landmarks' hull, the inside really changes, a seed
// fixes everything, and donor faces land where their landmarks say.
#include "fixtures.hpp"

#include <clipft/faces/self_blend.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

using namespace clipft;
using faces::Point;
using image::Image;

namespace {

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

Image textured(std::int64_t height, std::int64_t width) {
    Image result(height, width, 3);
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x) {
            result.at(y, x, 0) = std::uint8_t(40 + (x * 170) / width);
            result.at(y, x, 1) = std::uint8_t(30 + (y * 190) / height);
            result.at(y, x, 2) = std::uint8_t((x * 37 + y * 91) % 256);
        }
    return result;
}

// `count` points on the ellipse with centre (cx, cy) and radii rx, ry, in order.
std::vector<Point> ellipse(double cx, double cy, double rx, double ry, int count) {
    std::vector<Point> points;
    for (int i = 0; i < count; ++i) {
        const double angle = 2 * std::numbers::pi * i / count;
        points.push_back({cx + rx * std::cos(angle), cy + ry * std::sin(angle)});
    }
    return points;
}

// The invariants every blended face must satisfy, whatever the draws: `source` is the image the
// fake was made from (the target), `landmarks` its points.
void check_invariants(const Image& source, const std::vector<Point>& landmarks, const faces::BlendedFace& blended,
                      const faces::SelfBlendOptions& options) {
    REQUIRE(blended.fake.height == source.height);
    REQUIRE(blended.fake.width == source.width);
    REQUIRE(blended.fake.channels == source.channels);
    REQUIRE(blended.mask.size() == std::size_t(source.height * source.width));

    // The hull's area (shoelace over the convex hull), centroid distance and bounding box.
    const std::vector<Point> hull = faces::convex_hull(landmarks);
    double twice_area = 0;
    for (std::size_t i = 0; i < hull.size(); ++i)
        twice_area += hull[i].x * hull[(i + 1) % hull.size()].y - hull[(i + 1) % hull.size()].x * hull[i].y;
    const double face_size = std::sqrt(std::abs(twice_area) / 2);
    double left = hull[0].x, right = left, top = hull[0].y, bottom = top;
    for (const Point& p : hull)
        left = std::min(left, p.x), right = std::max(right, p.x), top = std::min(top, p.y),
        bottom = std::max(bottom, p.y);
    // Deformation moves a point by at most mask_deformation times its distance from the centroid
    // (at most the box's diagonal); the blur reaches ceil(3 sigma) further.
    const double margin =
        options.mask_deformation * std::hypot(right - left, bottom - top) + 3 * options.max_edge_blur * face_size + 2;

    const float peak = *std::max_element(blended.mask.begin(), blended.mask.end());
    std::int64_t out_of_range = 0, changed_outside = 0, soft = 0, inside = 0, outside_box = 0;
    double difference = 0;
    for (std::int64_t y = 0; y < source.height; ++y)
        for (std::int64_t x = 0; x < source.width; ++x) {
            const float weight = blended.mask[std::size_t(y * source.width + x)];
            if (!(weight >= 0.0f && weight <= 1.0f)) ++out_of_range;
            if (weight == 0.0f) {
                for (std::int64_t c = 0; c < source.channels; ++c)
                    changed_outside += blended.fake.at(y, x, c) != source.at(y, x, c);
                continue;
            }
            if (weight < 0.99f * peak) ++soft;
            if (double(x) < left - margin || double(x) > right + margin || double(y) < top - margin ||
                double(y) > bottom + margin)
                ++outside_box;
            if (weight >= 0.2f) {
                ++inside;
                for (std::int64_t c = 0; c < 3; ++c)
                    difference += std::abs(int(blended.fake.at(y, x, c)) - int(source.at(y, x, c)));
            }
        }
    CHECK(out_of_range == 0);
    CHECK(changed_outside == 0); // exactly the source wherever the mask is 0
    CHECK(soft > 0);             // a blending boundary, not a hard cut
    CHECK(outside_box == 0);     // the mask stays near the landmarks
    REQUIRE(inside > 0);
    CHECK(difference / double(3 * inside) > 2.0); // the blended region really differs
}

} // namespace

TEST_CASE(".tem landmarks: points read, template lines ignored, errors name the file and line") {
    const std::vector<Point> points = faces::parse_tem_landmarks("3\n1.5\t2\n3\t-4.25\r\n5 6\n2\n0\n1 2\n", "face.tem");
    CHECK(points == std::vector<Point>{{1.5, 2}, {3, -4.25}, {5, 6}});
    CHECK_THROWS_WITH_AS(faces::parse_tem_landmarks("3\n1\t2\n3\t4\n", "short.tem"),
                         contains("short.tem:3: the file ends after 2 of the 3 points"), Error);
    CHECK_THROWS_WITH_AS(faces::parse_tem_landmarks("2\n1\t2\n3\tx\n", "bad.tem"),
                         contains("bad.tem:3: expected point 1 of 2 as two numbers 'x<TAB>y', found '3\tx'"), Error);
    CHECK_THROWS_WITH_AS(faces::parse_tem_landmarks("two\n", "count.tem"),
                         contains("count.tem:1: expected the number of points"), Error);
    CHECK_THROWS_WITH_AS(faces::parse_tem_landmarks("", "empty.tem"), contains("empty.tem: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(faces::read_tem_landmarks("/nonexistent/face.tem"),
                         contains("/nonexistent/face.tem: cannot read the landmarks: no such file"), Error);

    const std::filesystem::path path = testing::shared_path("data/faces-real-landmarks/face_0001.tem");
    if (path.empty()) return;
    const std::vector<Point> face = faces::read_tem_landmarks(path);
    REQUIRE(face.size() == 189);
    CHECK(face.front() == Point{282.5, 316.0}); // the image-left pupil
    CHECK(face.back() == Point{448.5, 354.5});
}

TEST_CASE("convex_hull: corners only, counter-clockwise from the smallest point; collinear points give no polygon") {
    const std::vector<Point> hull =
        faces::convex_hull({{1, 1}, {2, 2}, {0, 2}, {1, 0}, {2, 0}, {0, 0}, {2, 1}, {0, 0}});
    CHECK(hull == std::vector<Point>{{0, 0}, {2, 0}, {2, 2}, {0, 2}});
    CHECK(faces::convex_hull({{0, 0}, {1, 1}, {3, 3}, {2, 2}}).size() == 2);
    CHECK_THROWS_WITH_AS(faces::convex_hull({{0, 0}, {NAN, 1}, {3, 3}}), contains("not finite"), Error);
}

TEST_CASE("fit_similarity recovers a known rotation, scale and translation; inverse and after compose") {
    // Rotation by 30 degrees, scale 1.5, translation (4, -7).
    const double a = 1.5 * std::cos(std::numbers::pi / 6), b = 1.5 * std::sin(std::numbers::pi / 6);
    const std::vector<Point> from{{0, 0}, {10, 0}, {3, 8}, {-5, 2}};
    std::vector<Point> to;
    for (const Point& p : from) to.push_back({a * p.x - b * p.y + 4, b * p.x + a * p.y - 7});
    const faces::SimilarityTransform fit = faces::fit_similarity(from, to);
    CHECK(fit.a == doctest::Approx(a).epsilon(1e-12));
    CHECK(fit.b == doctest::Approx(b).epsilon(1e-12));
    CHECK(fit.tx == doctest::Approx(4).epsilon(1e-12));
    CHECK(fit.ty == doctest::Approx(-7).epsilon(1e-12));
    const Point back = fit.inverse().apply(fit.apply({3, 8}));
    CHECK(back.x == doctest::Approx(3));
    CHECK(back.y == doctest::Approx(8));
    const Point twice = fit.after(fit).apply({1, 0}); // (a, b) then again: (a^2 - b^2 + a*4 - b*(-7) + 4, ...)
    const Point once = fit.apply({1, 0});
    CHECK(twice.x == doctest::Approx(fit.apply(once).x));
    CHECK(twice.y == doctest::Approx(fit.apply(once).y));
    CHECK_THROWS_WITH_AS(faces::fit_similarity(from, {{0, 0}}), contains("same scheme"), Error);
    CHECK_THROWS_WITH_AS(faces::fit_similarity({{1, 1}, {1, 1}}, {{0, 0}, {1, 1}}), contains("coincide"), Error);
}

TEST_CASE("self_blend on a synthetic face: the SBI invariants for many seeds") {
    const Image image = textured(120, 160);
    const std::vector<Point> landmarks = ellipse(80, 60, 35, 40, 16);
    const faces::SelfBlendOptions options;
    for (std::uint64_t seed = 0; seed < 12; ++seed) {
        CAPTURE(seed);
        Generator generator(seed);
        check_invariants(image, landmarks, faces::self_blend(image, landmarks, generator, options), options);
    }
}

TEST_CASE("self_blend: a seed fixes the fake and the mask, another seed changes them") {
    const Image image = textured(100, 100);
    const std::vector<Point> landmarks = ellipse(50, 50, 25, 30, 20);
    Generator first(21), second(21), other(22);
    const faces::BlendedFace a = faces::self_blend(image, landmarks, first);
    const faces::BlendedFace b = faces::self_blend(image, landmarks, second);
    const faces::BlendedFace c = faces::self_blend(image, landmarks, other);
    CHECK(a.fake.pixels == b.fake.pixels);
    CHECK(a.mask == b.mask);
    CHECK(a.mask != c.mask);
    CHECK(a.fake.pixels != c.fake.pixels);
}

TEST_CASE("self_blend: bad landmarks are refused") {
    const Image image = textured(50, 50);
    Generator generator(1);
    CHECK_THROWS_WITH_AS(faces::self_blend(image, {{1, 1}, {5, 5}}, generator), contains("2 landmarks given"), Error);
    CHECK_THROWS_WITH_AS(faces::self_blend(image, {{1, 1}, {5, 5}, {9, 9}}, generator), contains("collinear"), Error);
    CHECK_THROWS_WITH_AS(faces::self_blend(image, ellipse(500, 500, 10, 10, 8), generator),
                         contains("outside the 50x50 image"), Error);
    faces::SelfBlendOptions bad;
    bad.blend_ratios = {0.5, 1.5};
    CHECK_THROWS_WITH_AS(faces::self_blend(image, ellipse(25, 25, 10, 10, 8), generator, bad),
                         contains("SelfBlendOptions::blend_ratios: 1.5 is outside (0, 1]"), Error);
    CHECK_THROWS_WITH_AS(
        faces::blend_donor(image, ellipse(25, 25, 10, 10, 8), image, ellipse(25, 25, 10, 10, 7), generator),
        contains("the donor has 7 landmarks and the target 8"), Error);
}

TEST_CASE("blend_donor: the donor is aligned by its landmarks (shifted and scaled copies blend back exactly)") {
    // Without any jitter, a donor that is the target moved (or scaled) with its landmarks puts every
    // target pixel back where it was: the fake equals the target, although the mask is not empty.
    faces::SelfBlendOptions still;
    still.colour_jitter = {};
    still.downscale_probability = 0;
    still.max_scale_change = 0;
    still.max_shift = 0;
    const Image target = textured(80, 90);
    const std::vector<Point> landmarks = ellipse(45, 40, 20, 25, 12);

    Image shifted(80, 90, 3); // shifted(x, y) = target(x - 7, y - 4)
    for (std::int64_t y = 0; y < 80; ++y)
        for (std::int64_t x = 0; x < 90; ++x)
            for (std::int64_t c = 0; c < 3; ++c)
                shifted.at(y, x, c) = target.at(std::max<std::int64_t>(0, y - 4), std::max<std::int64_t>(0, x - 7), c);
    std::vector<Point> shifted_landmarks;
    for (const Point& p : landmarks) shifted_landmarks.push_back({p.x + 7, p.y + 4});
    Generator generator(4);
    const faces::BlendedFace moved =
        faces::blend_donor(target, landmarks, shifted, shifted_landmarks, generator, still);
    CHECK(*std::max_element(moved.mask.begin(), moved.mask.end()) > 0.2f);
    CHECK(moved.fake.pixels == target.pixels);

    Image doubled(160, 180, 3); // doubled(x, y) = target(x / 2, y / 2)
    for (std::int64_t y = 0; y < 160; ++y)
        for (std::int64_t x = 0; x < 180; ++x)
            for (std::int64_t c = 0; c < 3; ++c) doubled.at(y, x, c) = target.at(y / 2, x / 2, c);
    std::vector<Point> doubled_landmarks;
    for (const Point& p : landmarks) doubled_landmarks.push_back({2 * p.x, 2 * p.y});
    const faces::BlendedFace scaled =
        faces::blend_donor(target, landmarks, doubled, doubled_landmarks, generator, still);
    CHECK(*std::max_element(scaled.mask.begin(), scaled.mask.end()) > 0.2f);
    CHECK(scaled.fake.pixels == target.pixels);

    // The same donor with its landmarks left unmoved lands 7 pixels off: the fake changes.
    const faces::BlendedFace misaligned = faces::blend_donor(target, landmarks, shifted, landmarks, generator, still);
    CHECK(misaligned.fake.pixels != target.pixels);
}

TEST_CASE("self_blend and blend_donor on real photographs with their .tem landmarks") {
    // Neutral London set (189 points), the "canada" set (675x900) and "zoom" (83 points, another template).
    for (const char* name : {"face_0001", "face_0205", "face_0249"}) {
        CAPTURE(name);
        const std::filesystem::path image_path = testing::shared_path(std::string("data/faces-real/") + name + ".jpg");
        const std::filesystem::path landmarks_path =
            testing::shared_path(std::string("data/faces-real-landmarks/") + name + ".tem");
        if (image_path.empty() || landmarks_path.empty()) return;
        const Image face = image::load_image(image_path);
        const std::vector<Point> landmarks = faces::read_tem_landmarks(landmarks_path);
        const faces::SelfBlendOptions options;
        for (std::uint64_t seed = 0; seed < 2; ++seed) {
            CAPTURE(seed);
            Generator generator(seed);
            check_invariants(face, landmarks, faces::self_blend(face, landmarks, generator, options), options);
        }
    }

    const std::filesystem::path target_path = testing::shared_path("data/faces-real/face_0001.jpg");
    const std::filesystem::path donor_path = testing::shared_path("data/faces-real/face_0002.jpg");
    const std::filesystem::path target_landmarks_path = testing::shared_path("data/faces-real-landmarks/face_0001.tem");
    const std::filesystem::path donor_landmarks_path = testing::shared_path("data/faces-real-landmarks/face_0002.tem");
    if (target_path.empty() || donor_path.empty() || target_landmarks_path.empty() || donor_landmarks_path.empty())
        return;
    const Image target = image::load_image(target_path), donor = image::load_image(donor_path);
    const std::vector<Point> target_landmarks = faces::read_tem_landmarks(target_landmarks_path);
    const faces::SelfBlendOptions options;
    Generator generator(3), again(3);
    const faces::BlendedFace swapped = faces::blend_donor(
        target, target_landmarks, donor, faces::read_tem_landmarks(donor_landmarks_path), generator, options);
    check_invariants(target, target_landmarks, swapped, options);
    REQUIRE(donor.pixels.size() == swapped.fake.pixels.size());
    double from_donor = 0;
    for (std::size_t i = 0; i < donor.pixels.size(); ++i)
        from_donor += std::abs(int(swapped.fake.pixels[i]) - int(donor.pixels[i]));
    CHECK(from_donor / double(donor.pixels.size()) > 2.0); // the background and the blend are the target's
    const faces::BlendedFace repeated = faces::blend_donor(
        target, target_landmarks, donor, faces::read_tem_landmarks(donor_landmarks_path), again, options);
    CHECK(repeated.fake.pixels == swapped.fake.pixels);
}
