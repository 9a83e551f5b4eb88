// CLIP preprocessing against the reference fixtures (clip.clip._transform on Pillow 9.4 /
// torchvision 0.14): the resampling alone on Pillow's decoded pixels (bit-exact), and the whole
// pipeline from the files (stb_image decodes JPEGs a little differently from libjpeg).
#include "fixtures.hpp"

#include <clipft/image/preprocess.hpp>
#include <clipft/io/safetensors.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

using namespace clipft;
using image::Image;

namespace {

const char* const fixture_images[] = {"gradient_300x200.png", "gradient_200x300.jpg", "square_224x224.png",
                                      "small_97x131.jpg",     "gray_640x480.jpg",     "alpha_301x200.png",
                                      "odd_303x200.jpg"};

// Pillow's decoded pixels [H, W, C] (C = 1 for L, 3, 4) as an Image (gray replicated to RGB, as
// the loader does).
Image image_from_hwc(const Tensor<std::uint8_t>& pixels) {
    const std::int64_t height = pixels.size(0), width = pixels.size(1), channels = pixels.size(2);
    Image result(height, width, channels == 4 ? 4 : 3);
    const std::uint8_t* source = pixels.data();
    for (std::int64_t i = 0; i < height * width; ++i)
        for (std::int64_t c = 0; c < result.channels; ++c)
            result.pixels[std::size_t(i * result.channels + c)] = source[i * channels + (channels == 1 ? 0 : c)];
    return result;
}

struct Difference {
    double mean = 0, max = 0;
};

Difference difference(const Tensor<float>& actual, const Tensor<float>& expected) {
    REQUIRE(actual.shape() == expected.shape());
    Difference result;
    for (std::int64_t i = 0; i < actual.numel(); ++i) {
        double error = std::abs(double(actual.data()[i]) - double(expected.data()[i]));
        result.mean += error;
        result.max = std::max(result.max, error);
    }
    result.mean /= double(actual.numel());
    return result;
}

} // namespace

TEST_CASE("preprocess: Pillow's resize + crop reproduced bit-exactly on Pillow's decoded pixels") {
    auto directory = testing::fixture_path("preprocess");
    if (directory.empty()) return;
    auto expected = io::load_safetensors(directory / "expected.safetensors");
    for (const char* name : fixture_images) {
        CAPTURE(name);
        Image decoded = image_from_hwc(expected.get<std::uint8_t>(std::string(name) + ":decoded"));
        Image cropped = image::resize_and_center_crop(decoded, 224);
        REQUIRE(cropped.height == 224);
        REQUIRE(cropped.width == 224);
        auto resized = expected.get<std::uint8_t>(std::string(name) + ":resized");
        std::int64_t mismatches = 0;
        for (std::int64_t i = 0; i < 224 * 224; ++i)
            for (std::int64_t c = 0; c < 3; ++c)
                mismatches += cropped.pixels[std::size_t(i * cropped.channels + c)] != resized.data()[i * 3 + c];
        CHECK(mismatches == 0);
        // ToTensor + Normalize in float32 as torchvision: bit-identical.
        Tensor<float> tensor = image::to_normalized_tensor(cropped);
        CHECK(difference(tensor, expected.get<float>(name)).max == 0.0);
    }
}

TEST_CASE("preprocess: decoding the fixture files (stb_image) against Pillow's decoded pixels") {
    auto directory = testing::fixture_path("preprocess");
    if (directory.empty()) return;
    auto expected = io::load_safetensors(directory / "expected.safetensors");
    for (const char* name : fixture_images) {
        CAPTURE(name);
        Image pillow = image_from_hwc(expected.get<std::uint8_t>(std::string(name) + ":decoded"));
        Image loaded = image::load_image(directory / name);
        REQUIRE(loaded.height == pillow.height);
        REQUIRE(loaded.width == pillow.width);
        REQUIRE(loaded.channels == pillow.channels);
        int max_levels = 0;
        for (std::size_t i = 0; i < loaded.pixels.size(); ++i)
            max_levels = std::max(max_levels, std::abs(int(loaded.pixels[i]) - int(pillow.pixels[i])));
        MESSAGE(std::string(name) << ": decoded pixels differ from Pillow's by at most " << max_levels << " levels");
        if (std::strstr(name, ".png"))
            CHECK(max_levels == 0);
        else
            CHECK(max_levels <= 4); // stb_image's IDCT/upsampling vs libjpeg's (measured: 3)
    }
}

TEST_CASE("preprocess: whole pipeline from the fixture files") {
    auto directory = testing::fixture_path("preprocess");
    if (directory.empty()) return;
    auto expected = io::load_safetensors(directory / "expected.safetensors");
    for (const char* name : fixture_images) {
        CAPTURE(name);
        Tensor<float> tensor = image::preprocess(directory / name);
        CHECK(tensor.shape() == Shape{3, 224, 224});
        Difference error = difference(tensor, expected.get<float>(name));
        MESSAGE(std::string(name) << ": mean absolute error " << error.mean << ", max " << error.max);
        if (std::strstr(name, ".png")) { // lossless: Pillow's pixels, so the result is bit-identical
            CHECK(error.max == 0.0);
        } else { // only the JPEG decoding differs (measured: mean <= 0.0015, max 0.044 = 3 levels)
            CHECK(error.mean <= 0.003);
            CHECK(error.max <= 0.06);
        }
    }
}

TEST_CASE("preprocess: batch of files equals the single-image results, in order") {
    auto directory = testing::fixture_path("preprocess");
    if (directory.empty()) return;
    std::vector<std::filesystem::path> paths = {directory / "odd_303x200.jpg", directory / "alpha_301x200.png",
                                                directory / "small_97x131.jpg"};
    Tensor<float> batch = image::preprocess_batch(paths, {.size = 64});
    REQUIRE(batch.shape() == Shape{3, 3, 64, 64});
    for (std::size_t i = 0; i < paths.size(); ++i) {
        Tensor<float> single = image::preprocess(paths[i], {.size = 64});
        CHECK(std::memcmp(batch.data() + std::int64_t(i) * single.numel(), single.data(),
                          std::size_t(single.numel()) * sizeof(float)) == 0);
    }
    // A failing file is reported by name, even among good ones.
    paths.insert(paths.begin() + 1, directory / "no_such_image.png");
    CHECK_THROWS_WITH_AS(image::preprocess_batch(paths), doctest::Contains("no_such_image.png"), Error);
}

TEST_CASE("preprocess: geometry follows torchvision (truncated long side, half-to-even crop offsets)") {
    using image::center_crop_offset;
    using image::shorter_side_size;
    CHECK(shorter_side_size(200, 300, 224) == std::array<std::int64_t, 2>{224, 336});
    CHECK(shorter_side_size(300, 200, 224) == std::array<std::int64_t, 2>{336, 224});
    CHECK(shorter_side_size(131, 97, 224) == std::array<std::int64_t, 2>{302, 224});  // 302.39 truncated
    CHECK(shorter_side_size(200, 303, 224) == std::array<std::int64_t, 2>{224, 339}); // 339.36
    CHECK(shorter_side_size(224, 224, 224) == std::array<std::int64_t, 2>{224, 224});
    CHECK(center_crop_offset(337, 224) == 56); // 56.5 -> 56
    CHECK(center_crop_offset(339, 224) == 58); // 57.5 -> 58
    CHECK(center_crop_offset(302, 224) == 39);
    CHECK(center_crop_offset(224, 224) == 0);
    CHECK_THROWS_WITH_AS(shorter_side_size(10, 10, 0), doctest::Contains("size must be positive"), Error);
}

TEST_CASE("preprocess: resizing a constant image keeps it constant; up- and down-scaling sizes") {
    Image flat(37, 53, 3);
    for (std::size_t i = 0; i < flat.pixels.size(); i += 3)
        flat.pixels[i] = 10, flat.pixels[i + 1] = 128, flat.pixels[i + 2] = 250;
    for (auto [height, width] : {std::pair<std::int64_t, std::int64_t>{100, 7}, {5, 200}, {37, 20}, {80, 53}}) {
        Image resized = image::resize_bicubic(flat, height, width);
        REQUIRE(resized.height == height);
        REQUIRE(resized.width == width);
        bool constant = true;
        for (std::size_t i = 0; i < resized.pixels.size(); i += 3)
            constant =
                constant && resized.pixels[i] == 10 && resized.pixels[i + 1] == 128 && resized.pixels[i + 2] == 250;
        CHECK(constant);
    }
    // A window of the resize equals the same pixels of the full resize.
    Image ramp(40, 60, 4);
    for (std::size_t i = 0; i < ramp.pixels.size(); ++i) ramp.pixels[i] = std::uint8_t((i * 37) % 256);
    Image full = image::resize_bicubic(ramp, 25, 90);
    Image window = image::resize_bicubic_window(ramp, 25, 90, 3, 11, 20, 50);
    bool same = true;
    for (std::int64_t y = 0; y < 20; ++y)
        same = same && std::memcmp(window.row(y), full.row(y + 3) + 11 * 4, 50 * 4) == 0;
    CHECK(same);
    CHECK_THROWS_WITH_AS(image::resize_bicubic_window(ramp, 25, 90, 10, 0, 20, 90),
                         doctest::Contains("resize_bicubic: window 20x90 at (10, 0) does not fit"), Error);
}

TEST_CASE("preprocess: an image of 1 pixel or a very thin image still gives size x size") {
    Image dot(1, 1, 3);
    dot.pixels = {200, 100, 50};
    Tensor<float> tensor = image::preprocess(dot, {.size = 8});
    REQUIRE(tensor.shape() == Shape{3, 8, 8});
    for (std::int64_t i = 0; i < 64; ++i)
        CHECK(tensor.data()[i] == (200.0f / 255.0f - image::clip_mean[0]) / image::clip_std[0]);
    Image thin(2, 5000, 3);
    CHECK(image::preprocess(thin, {.size = 16}).shape() == Shape{3, 16, 16});
}
