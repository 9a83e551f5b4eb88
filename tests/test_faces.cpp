// Faces: cropping and alignment on drawn images (exact pixel positions), then dlib's detector and
// landmarks on real photographs of ../shared/data/faces-real (one face each), checked against the
// authors' hand-placed pupils in faces-real-landmarks.
#include "fixtures.hpp"

#include <clipft/faces/crop.hpp>
#ifdef CLIPFT_WITH_DLIB
#include <clipft/faces/detector.hpp>
#endif

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

using namespace clipft;
using faces::Point;

namespace {

// An image whose pixel (y, x) is (x, y, 7) (coordinates below 256), so a crop tells where it came from.
image::Image coordinate_image(std::int64_t height, std::int64_t width) {
    image::Image image(height, width, 3);
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x) {
            image.at(y, x, 0) = std::uint8_t(x);
            image.at(y, x, 1) = std::uint8_t(y);
            image.at(y, x, 2) = 7;
        }
    return image;
}

// 68 landmarks with points 36-41 at `left_eye` and 42-47 at `right_eye`, the rest at `other`.
std::vector<Point> eye_landmarks(Point left_eye, Point right_eye, Point other) {
    std::vector<Point> landmarks(68, other);
    for (int i = 36; i < 42; ++i) landmarks[std::size_t(i)] = left_eye;
    for (int i = 42; i < 48; ++i) landmarks[std::size_t(i)] = right_eye;
    return landmarks;
}

// The centroid of the pixels brighter than 128 in channel 0 within columns [first, last).
Point bright_centroid(const image::Image& image, std::int64_t first, std::int64_t last) {
    double sum_x = 0, sum_y = 0, count = 0;
    for (std::int64_t y = 0; y < image.height; ++y)
        for (std::int64_t x = first; x < last; ++x)
            if (image.at(y, x, 0) > 128) sum_x += double(x), sum_y += double(y), ++count;
    REQUIRE(count > 0);
    return {sum_x / count, sum_y / count};
}

} // namespace

TEST_CASE("crop_face grows the box by the margin on every side and copies those pixels") {
    image::Image image = coordinate_image(120, 200);
    faces::Face face{{50, 40, 40, 32}, 1.0, {{60, 50}, {80, 55}}};
    faces::FaceCrop crop = faces::crop_face(image, face, {.margin = 0.25});
    // 0.25 x 40 = 10 columns left and right, 0.25 x 32 = 8 rows above and below.
    CHECK(crop.image.width == 60);
    CHECK(crop.image.height == 48);
    CHECK(crop.image.at(0, 0, 0) == 40);
    CHECK(crop.image.at(0, 0, 1) == 32);
    CHECK(crop.image.at(47, 59, 0) == 99);
    CHECK(crop.image.at(47, 59, 1) == 79);
    REQUIRE(crop.landmarks.size() == 2);
    CHECK(crop.landmarks[1].x == doctest::Approx(40));
    CHECK(crop.landmarks[1].y == doctest::Approx(23));
    CHECK(crop.rotation_degrees == 0);

    faces::FaceCrop tight = faces::crop_face(image, face, {.margin = 0});
    CHECK(tight.image.width == 40);
    CHECK(tight.image.height == 32);
    CHECK(tight.image.at(0, 0, 0) == 50);
}

TEST_CASE("crop_face clamps the grown box to the image") {
    image::Image image = coordinate_image(100, 120);
    faces::Face face{{-10, 70, 50, 50}, 1.0, {}}; // reaches past the left and bottom borders
    faces::FaceCrop crop = faces::crop_face(image, face, {.margin = 0.5});
    CHECK(crop.image.width == 65);  // columns 0 .. 10 + 25 + 25 = 65
    CHECK(crop.image.height == 55); // rows 70 - 25 = 45 .. 100
    CHECK(crop.image.at(0, 0, 0) == 0);
    CHECK(crop.image.at(0, 0, 1) == 45);
    CHECK(crop.image.at(54, 64, 1) == 99);

    CHECK_THROWS_WITH_AS(faces::crop_face(image, {{300, 10, 50, 50}, 1.0, {}}),
                         doctest::Contains("outside the 120x100 image"), Error);
    CHECK_THROWS_WITH_AS(faces::crop_face(image, face, {.margin = -0.1}), doctest::Contains("margin"), Error);
    CHECK_THROWS_WITH_AS(faces::crop_face(image, face, {.align = true}), doctest::Contains("68 landmarks"), Error);
}

TEST_CASE("eye_centers and eye_line_degrees use points 36-41 and 42-47") {
    std::vector<Point> landmarks = eye_landmarks({10, 20}, {30, 40}, {500, 500});
    landmarks[36] = {4, 20}; // the mean of 36-41 moves by 1 in x
    faces::EyeCenters eyes = faces::eye_centers(landmarks);
    CHECK(eyes.left.x == doctest::Approx(9));
    CHECK(eyes.left.y == doctest::Approx(20));
    CHECK(eyes.right.x == doctest::Approx(30));
    CHECK(faces::eye_line_degrees(eye_landmarks({0, 0}, {10, 10}, {0, 0})) == doctest::Approx(45));
    CHECK(faces::eye_line_degrees(eye_landmarks({0, 10}, {10, 0}, {0, 0})) == doctest::Approx(-45));
    CHECK_THROWS_WITH_AS(faces::eye_centers({{1, 2}}), doctest::Contains("1 landmarks"), Error);
}

TEST_CASE("an aligned crop shows the eyes on one row, where its landmarks say") {
    // Two bright squares (the eyes) on a line tilted by 30 degrees, centred on whole pixels.
    image::Image image(200, 200, 3);
    const Point left_eye{70, 90}, right_eye{122, 120}; // 60 pixels apart at 29.98 degrees
    for (const Point& eye : {left_eye, right_eye})
        for (std::int64_t y = std::int64_t(eye.y) - 3; y <= std::int64_t(eye.y) + 3; ++y)
            for (std::int64_t x = std::int64_t(eye.x) - 3; x <= std::int64_t(eye.x) + 3; ++x)
                for (int c = 0; c < 3; ++c) image.at(y, x, c) = 255;
    faces::Face face{{50, 60, 100, 100}, 1.0, eye_landmarks(left_eye, right_eye, {100, 140})};

    faces::FaceCrop crop = faces::crop_face(image, face, {.margin = 0.2, .align = true});
    CHECK(crop.rotation_degrees == doctest::Approx(30).epsilon(0.01));
    CHECK(crop.image.width == 140);
    CHECK(crop.image.height == 140);
    const Point seen_left = bright_centroid(crop.image, 0, 70), seen_right = bright_centroid(crop.image, 70, 140);
    CHECK(seen_left.y == doctest::Approx(seen_right.y).epsilon(0.01));
    CHECK(seen_right.x - seen_left.x == doctest::Approx(60.03).epsilon(0.02));
    faces::EyeCenters eyes = faces::eye_centers(crop.landmarks);
    CHECK(std::abs(eyes.left.x - seen_left.x) < 1.0);
    CHECK(std::abs(eyes.left.y - seen_left.y) < 1.0);
    CHECK(std::abs(eyes.right.x - seen_right.x) < 1.0);
    CHECK(std::abs(eyes.right.y - seen_right.y) < 1.0);
}

#ifdef CLIPFT_WITH_DLIB

namespace {

// One detector for every test (loading the landmark model takes about a second).
faces::FaceDetector& shared_detector() {
    static faces::FaceDetector detector;
    return detector;
}

double distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

} // namespace

TEST_CASE("the detector finds the one face of real photographs, with 68 landmarks on it") {
    // Neutral, smiling, "canada", a tilted "lisa" and a "zoom" photograph.
    for (const char* name : {"face_0001.jpg", "face_0103.jpg", "face_0205.jpg", "face_0247.jpg", "face_0252.jpg"}) {
        std::filesystem::path path = testing::shared_path(std::filesystem::path("data/faces-real") / name);
        if (path.empty()) return;
        CAPTURE(name);
        std::vector<faces::Face> found = shared_detector().detect(image::load_image(path));
        REQUIRE(found.size() == 1);
        const faces::Face& face = found[0];
        CHECK(face.score > 0);
        CHECK(face.box.width >= 95);
        CHECK(face.box.height >= 95);
        REQUIRE(face.landmarks.size() == 68);
        const double slack = 0.15 * double(face.box.width);
        for (const Point& point : face.landmarks) {
            CHECK(point.x >= double(face.box.left) - slack);
            CHECK(point.x <= double(face.box.left + face.box.width) + slack);
            CHECK(point.y >= double(face.box.top) - slack);
            CHECK(point.y <= double(face.box.top + face.box.height) + slack);
        }
        // The jaw line (0-16) spans most of the box; the chin (8) is below the nose tip (30).
        CHECK(face.landmarks[16].x - face.landmarks[0].x > 0.7 * double(face.box.width));
        CHECK(face.landmarks[8].y > face.landmarks[30].y);
    }
}

TEST_CASE("the eye centers lie within 8% of the pupil distance from the authors' pupils") {
    for (const char* number : {"0001", "0205", "0245", "0247"}) {
        std::filesystem::path photo = testing::shared_path(std::string("data/faces-real/face_") + number + ".jpg");
        std::filesystem::path pupils_file =
            testing::shared_path(std::string("data/faces-real-landmarks/face_") + number + ".tem");
        if (photo.empty() || pupils_file.empty()) return;
        CAPTURE(number);
        // Points 0 and 1 of the Face Research Lab template are the pupils (image-left, image-right).
        const std::vector<Point> authors = faces::read_tem_landmarks(pupils_file);
        const Point left_pupil = authors.at(0), right_pupil = authors.at(1);
        std::vector<faces::Face> found = shared_detector().detect(image::load_image(photo));
        REQUIRE(found.size() == 1);
        faces::EyeCenters eyes = faces::eye_centers(found[0].landmarks);
        const double pupil_distance = distance(left_pupil, right_pupil);
        CHECK(distance(eyes.left, left_pupil) < 0.08 * pupil_distance);
        CHECK(distance(eyes.right, right_pupil) < 0.08 * pupil_distance);
    }
}

TEST_CASE("crops of a detected face have the margin's size, and alignment levels the eyes") {
    // face_0247: the head is tilted by about 20 degrees (the authors' pupils: (249, 340) and (374, 294)).
    std::filesystem::path path = testing::shared_path("data/faces-real/face_0247.jpg");
    if (path.empty()) return;
    image::Image photo = image::load_image(path);
    std::vector<faces::Face> found = shared_detector().detect(photo);
    REQUIRE(found.size() == 1);
    const faces::Face& face = found[0];
    CHECK(faces::eye_line_degrees(face.landmarks) == doctest::Approx(-20.2).epsilon(0.15));

    // 0.3 of the box on each side, cut at the image's borders (this face nearly touches the right one).
    faces::FaceCrop crop = faces::crop_face(photo, face, {.margin = 0.3});
    auto span = [](double begin, double end, double limit) { return std::min(end, limit) - std::max(begin, 0.0); };
    const faces::Box& box = face.box;
    const double grown_x = 0.3 * double(box.width), grown_y = 0.3 * double(box.height);
    CHECK(std::abs(double(crop.image.width) -
                   span(double(box.left) - grown_x, double(box.left + box.width) + grown_x, 600)) <= 1);
    CHECK(std::abs(double(crop.image.height) -
                   span(double(box.top) - grown_y, double(box.top + box.height) + grown_y, 800)) <= 1);
    CHECK(photo.width == 600);
    CHECK(photo.height == 800);

    faces::FaceCrop aligned = faces::crop_face(photo, face, {.margin = 0.3, .align = true});
    CHECK(aligned.image.width == crop.image.width);
    CHECK(aligned.rotation_degrees == doctest::Approx(faces::eye_line_degrees(face.landmarks)));
    // Found again in the aligned crop, the face's eyes are level.
    std::vector<faces::Face> again = shared_detector().detect(aligned.image);
    REQUIRE(again.size() == 1);
    CHECK(std::abs(faces::eye_line_degrees(again[0].landmarks)) < 2.5);
    CHECK(std::abs(faces::eye_line_degrees(crop.landmarks) - faces::eye_line_degrees(face.landmarks)) < 1e-9);
}

TEST_CASE("the minimum size, the threshold and upsampling select faces") {
    std::filesystem::path path =
        testing::shared_path("data/faces-real/face_0001.jpg"); // its face box is 216 pixels wide
    if (path.empty()) return;
    image::Image photo = image::load_image(path);
    faces::FaceDetector large_only({.min_size = 300, .landmarks = false});
    CHECK(large_only.detect(photo).empty());
    faces::FaceDetector strict({.threshold = 100, .landmarks = false});
    CHECK(strict.detect(photo).empty());
    // Halved, the face (about 108 pixels) is below 95 only when the minimum says so; upsampled,
    // the detector still finds it, at the same place.
    image::Image half(photo.height / 2, photo.width / 2, 3);
    for (std::int64_t y = 0; y < half.height; ++y)
        for (std::int64_t x = 0; x < half.width; ++x)
            for (int c = 0; c < 3; ++c) half.at(y, x, c) = photo.at(2 * y, 2 * x, c);
    std::vector<faces::Face> plain = faces::FaceDetector({.min_size = 40, .landmarks = false}).detect(half);
    std::vector<faces::Face> upsampled =
        faces::FaceDetector({.min_size = 40, .upsample = 1, .landmarks = false}).detect(half);
    REQUIRE(plain.size() == 1);
    REQUIRE(upsampled.size() == 1);
    CHECK(plain[0].landmarks.empty());
    CHECK(std::abs(double(upsampled[0].box.left + upsampled[0].box.width / 2) -
                   double(plain[0].box.left + plain[0].box.width / 2)) < 10);
    CHECK(faces::FaceDetector({.min_size = 150, .landmarks = false}).detect(half).empty());
}

TEST_CASE("a missing landmark model and bad options are errors that say what to do") {
    CHECK_THROWS_WITH_AS(faces::FaceDetector({.landmarks_model = "/nonexistent/predictor.dat"}),
                         doctest::Contains("/nonexistent/predictor.dat: the 68-point landmark model is missing; "
                                           "install it with the Debian package libdlib-data"),
                         Error);
    testing::TemporaryDirectory scratch;
    testing::write_bytes(scratch / "not_a_model.dat", "hello");
    CHECK_THROWS_WITH_AS(faces::FaceDetector({.landmarks_model = scratch / "not_a_model.dat"}),
                         doctest::Contains("not_a_model.dat: not a dlib shape predictor model"), Error);
    CHECK_THROWS_WITH_AS(faces::FaceDetector({.min_size = 0, .landmarks = false}),
                         doctest::Contains("minimum face size"), Error);
    CHECK_THROWS_WITH_AS(faces::FaceDetector({.upsample = 9, .landmarks = false}), doctest::Contains("upsample"),
                         Error);
}

#endif // CLIPFT_WITH_DLIB
