// Training augmentations: exact pixels of flips and colour adjustments worked out by hand, blur
// invariants, JPEG error against quality, random resized crops of a four-colour image, seeding, and
// the text form of Augmentation.
#include <clipft/image/augment.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

using namespace clipft;
using image::Image;

namespace {

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

// A deterministic textured image: smooth gradients plus a fine pattern, so every augmentation
// changes something.
Image textured(std::int64_t height, std::int64_t width, std::int64_t channels = 3) {
    Image result(height, width, channels);
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x) {
            result.at(y, x, 0) = std::uint8_t((x * 255) / std::max<std::int64_t>(1, width - 1));
            result.at(y, x, 1) = std::uint8_t((y * 255) / std::max<std::int64_t>(1, height - 1));
            result.at(y, x, 2) = std::uint8_t((x * 37 + y * 91) % 256);
            if (channels == 4) result.at(y, x, 3) = std::uint8_t((x + y) % 256);
        }
    return result;
}

Image filled(std::int64_t height, std::int64_t width, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    Image result(height, width, 3);
    for (std::int64_t i = 0; i < height * width; ++i) {
        result.pixels[std::size_t(i * 3)] = r;
        result.pixels[std::size_t(i * 3 + 1)] = g;
        result.pixels[std::size_t(i * 3 + 2)] = b;
    }
    return result;
}

double mean_absolute_difference(const Image& a, const Image& b) {
    REQUIRE(a.pixels.size() == b.pixels.size());
    double total = 0;
    for (std::size_t i = 0; i < a.pixels.size(); ++i) total += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    return total / double(a.pixels.size());
}

double mean_value(const Image& image) {
    double total = 0;
    for (std::uint8_t value : image.pixels) total += value;
    return total / double(image.pixels.size());
}

} // namespace

TEST_CASE("horizontal_flip mirrors every row and is its own inverse") {
    Image image(2, 3, 3);
    for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = std::uint8_t(i);
    const Image flipped = image::horizontal_flip(image);
    // Row 0 holds pixels (0,1,2) (3,4,5) (6,7,8); mirrored: (6,7,8) (3,4,5) (0,1,2).
    CHECK(flipped.pixels == std::vector<std::uint8_t>{6, 7, 8, 3, 4, 5, 0, 1, 2, 15, 16, 17, 12, 13, 14, 9, 10, 11});
    const Image rgba = textured(5, 7, 4);
    CHECK(image::horizontal_flip(image::horizontal_flip(rgba)).pixels == rgba.pixels);
    CHECK(image::horizontal_flip(rgba).at(2, 0, 3) == rgba.at(2, 6, 3));
}

TEST_CASE("crop copies the box and refuses boxes outside the image") {
    const Image image = textured(10, 12);
    const Image part = image::crop(image, 2, 3, 4, 5);
    CHECK(part.height == 4);
    CHECK(part.width == 5);
    CHECK(part.at(0, 0, 2) == image.at(2, 3, 2));
    CHECK(part.at(3, 4, 1) == image.at(5, 7, 1));
    CHECK_THROWS_WITH_AS(image::crop(image, 8, 0, 4, 4), contains("not inside the 10x12 image"), Error);
}

TEST_CASE("colour adjustments: values worked out by hand") {
    Image image(1, 2, 4);
    image.pixels = {100, 200, 10, 77, 0, 128, 255, 9};
    // Brightness 1.5: multiply and clamp; alpha untouched.
    CHECK(image::adjust_brightness(image, 1.5).pixels == std::vector<std::uint8_t>{150, 255, 15, 77, 0, 192, 255, 9});
    CHECK(image::adjust_brightness(image, 0.0).pixels == std::vector<std::uint8_t>{0, 0, 0, 77, 0, 0, 0, 9});
    // Contrast 0: every pixel becomes the image's mean gray (0.299 R + 0.587 G + 0.114 B):
    // (0.299*100 + 0.587*200 + 0.114*10 + 0.299*0 + 0.587*128 + 0.114*255) / 2 = 126.0
    CHECK(image::adjust_contrast(image, 0.0).pixels == std::vector<std::uint8_t>{126, 126, 126, 77, 126, 126, 126, 9});
    // Saturation 0: each pixel becomes its own gray: 148.44 -> 148 and 104.206 -> 104.
    CHECK(image::adjust_saturation(image, 0.0).pixels ==
          std::vector<std::uint8_t>{148, 148, 148, 77, 104, 104, 104, 9});
    // Hue: a third of a turn takes red to green and green to blue; half a turn red to cyan; gray stays.
    Image colours(1, 3, 3);
    colours.pixels = {255, 0, 0, 0, 200, 0, 90, 90, 90};
    CHECK(image::adjust_hue(colours, 1.0 / 3).pixels == std::vector<std::uint8_t>{0, 255, 0, 0, 0, 200, 90, 90, 90});
    CHECK(image::adjust_hue(colours, 0.5).pixels == std::vector<std::uint8_t>{0, 255, 255, 200, 0, 200, 90, 90, 90});
    CHECK(image::adjust_hue(colours, -1.0 / 3).pixels == std::vector<std::uint8_t>{0, 0, 255, 200, 0, 0, 90, 90, 90});
}

TEST_CASE("colour_jitter: zero strength is the identity, brightness alone scales every value by one factor") {
    const Image image = textured(16, 20);
    Generator generator(3);
    CHECK(image::colour_jitter(image, {}, generator).pixels == image.pixels);

    // A uniform gray of 100 under brightness 0.3 becomes round(100 f) with f in [0.7, 1.3]; a 200 in
    // the same image becomes round(200 f) with the same f.
    Image two_levels = filled(4, 4, 100, 100, 100);
    for (std::int64_t c = 0; c < 3; ++c) two_levels.at(0, 0, c) = 200;
    std::set<int> seen;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        Generator draws(seed);
        const Image out = image::colour_jitter(two_levels, {0.3, 0, 0, 0}, draws);
        const int low = out.at(1, 1, 0), high = out.at(0, 0, 0);
        CHECK(low >= 70);
        CHECK(low <= 130);
        CHECK(std::abs(high - 2 * low) <= 1); // one factor for both
        for (std::size_t i = 3; i < out.pixels.size(); ++i) CHECK(out.pixels[i] == low);
        seen.insert(low);
    }
    CHECK(seen.size() >= 10); // the factor really is drawn

    CHECK_THROWS_WITH_AS(image::colour_jitter(image, {0, 0, 0, 0.7}, generator), contains("hue strength"), Error);
    CHECK_THROWS_WITH_AS(image::colour_jitter(image, {-1, 0, 0, 0}, generator), contains("got -1"), Error);
}

TEST_CASE("colour_jitter: a seed fixes the result, another seed changes it") {
    const Image image = textured(24, 24);
    const image::ColourJitter jitter{0.4, 0.4, 0.4, 0.1};
    Generator first(11), second(11), other(12);
    const Image a = image::colour_jitter(image, jitter, first);
    CHECK(a.pixels == image::colour_jitter(image, jitter, second).pixels);
    CHECK(a.pixels != image::colour_jitter(image, jitter, other).pixels);
    CHECK(a.pixels != image.pixels);
}

TEST_CASE("gaussian_blur: constants stay constant, the mean is kept, detail is smoothed") {
    const Image flat = filled(9, 11, 12, 130, 250);
    CHECK(image::gaussian_blur(flat, 1.7).pixels == flat.pixels);

    // A textured centre inside a constant border wider than the kernel radius (ceil(3 * 1.2) = 4):
    // the edge clamp then adds nothing, so the sum of each channel is kept up to rounding.
    Image framed = filled(40, 40, 100, 100, 100);
    for (std::int64_t y = 8; y < 32; ++y)
        for (std::int64_t x = 8; x < 32; ++x)
            for (std::int64_t c = 0; c < 3; ++c) framed.at(y, x, c) = std::uint8_t((x * 29 + y * 53 + c * 71) % 256);
    const Image blurred = image::gaussian_blur(framed, 1.2);
    CHECK(std::abs(mean_value(blurred) - mean_value(framed)) < 0.05);
    CHECK(mean_absolute_difference(blurred, framed) > 10); // the pattern is smoothed out
    // A single bright pixel spreads symmetrically.
    Image dot = filled(15, 15, 0, 0, 0);
    dot.at(7, 7, 0) = 255;
    const Image spread = image::gaussian_blur(dot, 1.0);
    CHECK(spread.at(7, 7, 0) < 255);
    CHECK(spread.at(7, 6, 0) > 0);
    CHECK(spread.at(7, 6, 0) == spread.at(7, 8, 0));
    CHECK(spread.at(6, 7, 0) == spread.at(8, 7, 0));
    CHECK(spread.at(7, 6, 0) == spread.at(6, 7, 0));
    CHECK_THROWS_WITH_AS(image::gaussian_blur(flat, 0), contains("sigma must be finite and > 0"), Error);
}

TEST_CASE("jpeg_recompress: quality 100 is close to the input, quality 10 is further") {
    const Image image = textured(64, 64);
    const double fine = mean_absolute_difference(image::jpeg_recompress(image, 100), image);
    const double coarse = mean_absolute_difference(image::jpeg_recompress(image, 10), image);
    CHECK(fine < 2.0);
    CHECK(coarse > fine + 2.0);
    const Image rgba = textured(16, 16, 4);
    const Image kept = image::jpeg_recompress(rgba, 90);
    CHECK(kept.channels == 4);
    std::int64_t alpha_changed = 0;
    for (std::int64_t i = 0; i < 16 * 16; ++i)
        alpha_changed += kept.pixels[std::size_t(i * 4 + 3)] != rgba.pixels[std::size_t(i * 4 + 3)];
    CHECK(alpha_changed == 0);
    CHECK_THROWS_WITH_AS(image::jpeg_recompress(image, 0), contains("quality 0 is outside 1..100"), Error);
}

TEST_CASE("random_crop_box: boxes inside the image with the drawn area and aspect; the fallback") {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        Generator generator(seed);
        const image::CropBox box = image::random_crop_box(90, 120, generator, {0.2, 0.6}, {0.5, 2.0});
        CHECK(box.top >= 0);
        CHECK(box.left >= 0);
        CHECK(box.top + box.height <= 90);
        CHECK(box.left + box.width <= 120);
        const double fraction = double(box.height * box.width) / (90.0 * 120.0);
        CHECK(fraction > 0.2 * 0.9); // width and height are rounded
        CHECK(fraction < 0.6 * 1.1);
        const double aspect = double(box.width) / double(box.height);
        CHECK(aspect > 0.5 * 0.9);
        CHECK(aspect < 2.0 * 1.1);
    }
    // A 10x100 strip cannot hold 99% of its area at an aspect ratio within [3/4, 4/3]: all tries fail
    // and the fallback takes the full height, width round(10 * 4/3) = 13, centred: left (100 - 13) / 2.
    Generator generator(5);
    CHECK(image::random_crop_box(10, 100, generator, {0.99, 1.0}) == image::CropBox{0, 43, 10, 13});
    // A 100x10 strip: full width, height round(10 / (3/4)) = 13, top (100 - 13) / 2 = 43.
    CHECK(image::random_crop_box(100, 10, generator, {0.99, 1.0}) == image::CropBox{43, 0, 13, 10});
    CHECK_THROWS_WITH_AS(image::random_crop_box(10, 10, generator, {0.5, 1.5}), contains("0 < low <= high <= 1"),
                         Error);
}

TEST_CASE("random_resized_crop: the output size, and crops inside one quadrant are that quadrant's colour") {
    // Four constant quadrants of 50x50 pixels.
    Image quadrants(100, 100, 3);
    const std::uint8_t colours[4][3] = {{200, 0, 0}, {0, 200, 0}, {0, 0, 200}, {200, 200, 0}};
    for (std::int64_t y = 0; y < 100; ++y)
        for (std::int64_t x = 0; x < 100; ++x)
            for (std::int64_t c = 0; c < 3; ++c) quadrants.at(y, x, c) = colours[(y / 50) * 2 + x / 50][c];
    int inside_one = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
        Generator for_box(seed), for_crop(seed);
        const image::CropBox box = image::random_crop_box(100, 100, for_box, {0.01, 0.04}, {1.0, 1.0});
        const Image out = image::random_resized_crop(quadrants, 32, for_crop, {0.01, 0.04}, {1.0, 1.0});
        REQUIRE(out.height == 32);
        REQUIRE(out.width == 32);
        const std::int64_t quadrant = (box.top / 50) * 2 + box.left / 50;
        const bool one =
            (box.top + box.height - 1) / 50 == box.top / 50 && (box.left + box.width - 1) / 50 == box.left / 50;
        if (!one) continue;
        ++inside_one;
        const std::uint8_t* colour = colours[quadrant];
        CHECK(out.pixels == filled(32, 32, colour[0], colour[1], colour[2]).pixels);
    }
    CHECK(inside_one >= 10);
    // Whole-image crops of a non-square image come out square.
    Generator generator(1);
    const Image whole = image::random_resized_crop(textured(60, 80), 40, generator);
    CHECK(whole.height == 40);
    CHECK(whole.width == 40);
}

TEST_CASE("augment: a seed fixes the result, another seed changes it, nothing switched on is the identity") {
    const Image image = textured(48, 64);
    const image::Augmentation all =
        image::Augmentation::parse("crop=0.3-1:32,flip,jitter=0.3:0.3:0.3:0.05,blur=0.3-1.5,jpeg=50-90");
    Generator first(7), second(7), other(8);
    const Image a = image::augment(image, all, first);
    CHECK(a.height == 32);
    CHECK(a.width == 32);
    CHECK(a.pixels == image::augment(image, all, second).pixels);
    CHECK(a.pixels != image::augment(image, all, other).pixels);
    Generator generator(1);
    CHECK(image::augment(image, image::Augmentation{}, generator).pixels == image.pixels);
    // Flip alone with probability 1 always flips; with 0.5 about half the time.
    CHECK(image::augment(image, image::Augmentation::parse("flip@1"), generator).pixels ==
          image::horizontal_flip(image).pixels);
    int flipped = 0;
    for (int i = 0; i < 200; ++i)
        flipped += image::augment(image, image::Augmentation::parse("flip"), generator).pixels != image.pixels;
    CHECK(flipped > 70);
    CHECK(flipped < 130);
}

TEST_CASE("Augmentation::parse reads the text form, and text() writes it back") {
    const image::Augmentation parsed =
        image::Augmentation::parse("flip,jitter=0.2,jpeg=60-95@0.5,blur=0.1-2,crop=0.5-1");
    CHECK(parsed.flip_probability == 0.5);
    CHECK(parsed.jitter_probability == 1);
    CHECK(parsed.jitter == image::ColourJitter{0.2, 0.2, 0.2, 0});
    CHECK(parsed.jpeg_probability == 0.5);
    CHECK(parsed.jpeg_min_quality == 60);
    CHECK(parsed.jpeg_max_quality == 95);
    CHECK(parsed.blur_min_sigma == 0.1);
    CHECK(parsed.blur_max_sigma == 2.0);
    CHECK(parsed.crop_min_scale == 0.5);
    CHECK(parsed.crop_max_scale == 1.0);
    CHECK(parsed.crop_size == 224);
    CHECK(parsed.text() == "crop=0.5-1:224@1,flip@0.5,jitter=0.2:0.2:0.2:0@1,blur=0.1-2@1,jpeg=60-95@0.5");
    CHECK(image::Augmentation::parse(parsed.text()) == parsed);

    const image::Augmentation detailed =
        image::Augmentation::parse("jitter=0.1:0.2:0.3:0.05@0.8,jpeg=75,blur=1e-1-3.5,crop=0.08-1:336@0.25");
    CHECK(detailed.jitter == image::ColourJitter{0.1, 0.2, 0.3, 0.05});
    CHECK(detailed.jitter_probability == 0.8);
    CHECK(detailed.jpeg_min_quality == 75);
    CHECK(detailed.jpeg_max_quality == 75);
    CHECK(detailed.blur_min_sigma == 0.1);
    CHECK(detailed.blur_max_sigma == 3.5);
    CHECK(detailed.crop_size == 336);
    CHECK(detailed.crop_probability == 0.25);
    CHECK(detailed.flip_probability == 0);
    CHECK(image::Augmentation::parse(detailed.text()) == detailed);
    CHECK(image::Augmentation::parse("") == image::Augmentation{});
}

TEST_CASE("Augmentation::parse errors name the bad part") {
    auto error_of = [](const char* text) {
        try {
            image::Augmentation::parse(text);
        } catch (const Error& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    CHECK(
        error_of("flip,jpeg=60-950") ==
        "augmentation 'jpeg=60-950': the JPEG quality range 60-950 must be ordered (low <= high) and within [1, 100]");
    CHECK(error_of("flip,sharpen=2") ==
          "augmentation 'sharpen=2': unknown step 'sharpen'; the steps are flip, jitter, jpeg, blur and crop, as in "
          "\"crop=0.5-1,flip,jitter=0.2,blur=0.1-2@0.3,jpeg=60-95@0.5\"");
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("blur=abc"),
                         contains("augmentation 'blur=abc': 'abc' is not a number"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("blur=2-1"), contains("augmentation 'blur=2-1'"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("blur=0-1"),
                         contains("augmentation 'blur=0-1': the blur sigma must be > 0"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("flip@1.5"),
                         contains("augmentation 'flip@1.5': the probability 1.5 is outside [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("flip=1"), contains("augmentation 'flip=1': 'flip' takes no value"),
                         Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("jitter=0.1:0.2"),
                         contains("augmentation 'jitter=0.1:0.2': jitter takes 1 value"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("jitter=0.1:0.1:0.1:0.9"),
                         contains("augmentation 'jitter=0.1:0.1:0.1:0.9': the hue strength"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("jpeg"), contains("augmentation 'jpeg': 'jpeg' needs a value"),
                         Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("crop=0.5-1.5"),
                         contains("augmentation 'crop=0.5-1.5': the crop area range"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("crop=0.5-1:0"),
                         contains("augmentation 'crop=0.5-1:0': the crop size must be positive"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("flip,flip@0.2"),
                         contains("augmentation 'flip@0.2': the step 'flip' is given twice"), Error);
    CHECK_THROWS_WITH_AS(image::Augmentation::parse("flip,,jpeg=80"), contains("augmentation '': unknown step ''"),
                         Error);

    image::Augmentation bad;
    bad.jpeg_probability = 1;
    bad.jpeg_min_quality = 0;
    Generator generator(1);
    CHECK_THROWS_WITH_AS(image::augment(textured(4, 4), bad, generator), contains("Augmentation::jpeg_min/max_quality"),
                         Error);
}
