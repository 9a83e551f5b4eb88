// Image loading: PNG/BMP round trips of known pixels, JPEG EXIF orientation, every kind of bad
// file, the decompression-bomb limit, and real photographs. Test images are written with
// clipft/image/save.hpp (stb_image_write).
#include "fixtures.hpp"

#include <clipft/image/image.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/image/save.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

using namespace clipft;
using image::Image;

namespace {

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

using Format = image::ImageFormat;

// The file bytes of `pixels` (height x width x channels) in a format.
std::string encode(Format format, const std::vector<std::uint8_t>& pixels, int height, int width, int channels) {
    return image::encode_pixels(format, pixels.data(), height, width, channels, 100);
}

std::vector<std::uint8_t> pattern(int height, int width, int channels) {
    std::vector<std::uint8_t> pixels(std::size_t(height * width * channels));
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t((i * 53 + i / 7) % 256);
    return pixels;
}

// An APP1 Exif segment holding one IFD entry: Orientation (SHORT) = orientation.
std::string exif_segment(int orientation, bool big_endian) {
    auto u16 = [&](unsigned value) {
        char high = char(value >> 8), low = char(value & 0xFF);
        return big_endian ? std::string{high, low} : std::string{low, high};
    };
    auto u32 = [&](unsigned value) {
        return big_endian ? u16(value >> 16) + u16(value & 0xFFFF) : u16(value & 0xFFFF) + u16(value >> 16);
    };
    std::string tiff = std::string(big_endian ? "MM" : "II") + u16(42) + u32(8) // header, IFD0 at offset 8
                       + u16(2)                                                 // two entries
                       + u16(0x010F) + u16(2) + u32(4) + std::string("cam", 4)  // Make (ASCII), skipped
                       + u16(0x0112) + u16(3) + u32(1) + u16(unsigned(orientation)) + u16(0) + u32(0);
    std::string body = std::string("Exif\0\0", 6) + tiff;
    std::size_t length = body.size() + 2;
    return std::string{char(0xFF), char(0xE1), char(length >> 8), char(length & 0xFF)} + body;
}

// Inserts a segment right after a JPEG's start-of-image marker.
std::string with_segment(const std::string& jpeg, const std::string& segment) {
    return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

Image load_bytes(const testing::TemporaryDirectory& directory, const std::string& name, const std::string& bytes,
                 const image::LoadOptions& options = {}) {
    testing::write_bytes(directory / name, bytes);
    return image::load_image(directory / name, options);
}

} // namespace

TEST_CASE("image: PNG and BMP round-trip known pixels exactly") {
    testing::TemporaryDirectory directory;
    const int height = 7, width = 11;
    for (Format format : {Format::png, Format::bmp}) {
        for (int channels : {3, 4}) {
            if (format == Format::bmp && channels == 4) continue; // stb writes BMP without alpha
            CAPTURE(channels);
            std::vector<std::uint8_t> pixels = pattern(height, width, channels);
            Image loaded = load_bytes(directory, format == Format::png ? "a.png" : "a.bmp",
                                      encode(format, pixels, height, width, channels));
            CHECK(loaded.height == height);
            CHECK(loaded.width == width);
            CHECK(loaded.channels == channels);
            CHECK(loaded.has_alpha() == (channels == 4));
            CHECK(loaded.pixels == pixels);
        }
    }
}

TEST_CASE("image: gray is replicated to RGB, gray + alpha becomes RGBA") {
    testing::TemporaryDirectory directory;
    std::vector<std::uint8_t> gray = {0, 17, 200, 255, 3, 99};
    Image loaded = load_bytes(directory, "gray.png", encode(Format::png, gray, 2, 3, 1));
    REQUIRE(loaded.channels == 3);
    for (std::size_t i = 0; i < gray.size(); ++i)
        CHECK((loaded.pixels[3 * i] == gray[i] && loaded.pixels[3 * i + 1] == gray[i] &&
               loaded.pixels[3 * i + 2] == gray[i]));
    std::vector<std::uint8_t> gray_alpha = {10, 0, 20, 128, 30, 255, 40, 7};
    Image with_alpha = load_bytes(directory, "ga.png", encode(Format::png, gray_alpha, 2, 2, 2));
    REQUIRE(with_alpha.channels == 4);
    CHECK(with_alpha.pixels ==
          std::vector<std::uint8_t>{10, 10, 10, 0, 20, 20, 20, 128, 30, 30, 30, 255, 40, 40, 40, 7});
}

TEST_CASE("image: apply_exif_orientation maps every orientation as EXIF defines it") {
    // 2 x 3 image with pixel values 1..6 (one channel shown; all three carry the same value):
    //   1 2 3
    //   4 5 6
    Image image(2, 3, 3);
    for (int i = 0; i < 6; ++i)
        image.pixels[std::size_t(3 * i)] = image.pixels[std::size_t(3 * i + 1)] = image.pixels[std::size_t(3 * i + 2)] =
            std::uint8_t(i + 1);
    struct Case {
        int orientation;
        std::int64_t height, width;
        std::vector<std::uint8_t> values;
    };
    const Case cases[] = {
        {1, 2, 3, {1, 2, 3, 4, 5, 6}}, {2, 2, 3, {3, 2, 1, 6, 5, 4}}, // mirror left-right
        {3, 2, 3, {6, 5, 4, 3, 2, 1}}, {4, 2, 3, {4, 5, 6, 1, 2, 3}}, // rotate 180, mirror top-bottom
        {5, 3, 2, {1, 4, 2, 5, 3, 6}}, {6, 3, 2, {4, 1, 5, 2, 6, 3}}, // transpose, rotate 90 clockwise
        {7, 3, 2, {6, 3, 5, 2, 4, 1}}, {8, 3, 2, {3, 6, 2, 5, 1, 4}}, // transverse, rotate 90 counter-clockwise
    };
    for (const Case& expected : cases) {
        CAPTURE(expected.orientation);
        Image turned = image::apply_exif_orientation(image, expected.orientation);
        REQUIRE(turned.height == expected.height);
        REQUIRE(turned.width == expected.width);
        std::vector<std::uint8_t> values;
        for (std::size_t i = 0; i < turned.pixels.size(); i += 3) values.push_back(turned.pixels[i]);
        CHECK(values == expected.values);
    }
    CHECK_THROWS_WITH_AS(image::apply_exif_orientation(image, 9), contains("orientation 9"), Error);
}

TEST_CASE("image: a JPEG is turned upright by its EXIF orientation (both byte orders)") {
    testing::TemporaryDirectory directory;
    // 16 x 32 in four flat 8 x 16 quadrants (flat 8x8 blocks survive JPEG almost unchanged):
    // red | green over blue | white.
    const int height = 16, width = 32;
    std::vector<std::uint8_t> pixels(std::size_t(height * width * 3));
    const std::uint8_t colours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 3; ++c)
                pixels[std::size_t((y * width + x) * 3 + c)] = colours[(y >= 8) * 2 + (x >= 16)][c];
    const std::string jpeg = encode(Format::jpeg, pixels, height, width, 3);

    // The colour index (0 red, 1 green, 2 blue, 3 white) of a pixel, within JPEG's error.
    auto colour_at = [&](const Image& image, std::int64_t y, std::int64_t x) {
        for (int colour = 0; colour < 4; ++colour) {
            bool near = true;
            for (int c = 0; c < 3; ++c) near = near && std::abs(int(image.at(y, x, c)) - int(colours[colour][c])) <= 8;
            if (near) return colour;
        }
        return -1;
    };
    struct Case {
        int orientation;
        std::int64_t height, width;
        int top_left, top_right, bottom_left;
    };
    const Case cases[] = {{1, 16, 32, 0, 1, 2}, {3, 16, 32, 3, 2, 1}, {6, 32, 16, 2, 0, 3}, {8, 32, 16, 1, 3, 0}};
    for (bool big_endian : {false, true}) {
        for (const Case& expected : cases) {
            CAPTURE(big_endian);
            CAPTURE(expected.orientation);
            Image loaded =
                load_bytes(directory, "photo.jpg", with_segment(jpeg, exif_segment(expected.orientation, big_endian)));
            REQUIRE(loaded.height == expected.height);
            REQUIRE(loaded.width == expected.width);
            CHECK(colour_at(loaded, 0, 0) == expected.top_left);
            CHECK(colour_at(loaded, 0, loaded.width - 1) == expected.top_right);
            CHECK(colour_at(loaded, loaded.height - 1, 0) == expected.bottom_left);
        }
    }
    // Switched off, the stored orientation is kept; without EXIF nothing turns.
    Image stored = load_bytes(directory, "photo.jpg", with_segment(jpeg, exif_segment(6, false)),
                              {.apply_exif_orientation = false});
    CHECK((stored.height == 16 && stored.width == 32));
    Image plain = load_bytes(directory, "plain.jpg", jpeg);
    CHECK((plain.height == 16 && plain.width == 32 && colour_at(plain, 0, 0) == 0));
    CHECK(image::exif_orientation(std::span(reinterpret_cast<const std::uint8_t*>(jpeg.data()), jpeg.size())) == 1);
}

TEST_CASE("image: exif_orientation ignores malformed or truncated Exif data") {
    auto orientation = [](const std::string& bytes) {
        return image::exif_orientation(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    };
    const std::string soi = {char(0xFF), char(0xD8)};
    const std::string good = soi + exif_segment(6, false);
    CHECK(orientation(good) == 6);
    for (std::size_t cut = 0; cut < good.size(); ++cut) CHECK(orientation(good.substr(0, cut)) == 1);
    std::string bad_magic = good;
    bad_magic[4 + 6 + 2] = 43; // TIFF magic 42 -> 43
    CHECK(orientation(bad_magic) == 1);
    CHECK(orientation(soi + exif_segment(9, false)) == 1); // not an orientation
    CHECK(orientation("\x89PNG") == 1);
}

TEST_CASE("image: unreadable files are clipft::Error naming the file and the reason") {
    testing::TemporaryDirectory directory;
    auto path = [&](const char* name) { return (directory / name).string(); };
    CHECK_THROWS_WITH_AS(image::load_image(directory / "missing.png"),
                         contains(path("missing.png") + ": cannot read the image: no such file"), Error);
    CHECK_THROWS_WITH_AS(image::load_image(directory.path()), contains("not a regular file"), Error);

    testing::write_bytes(directory / "empty.jpg", "");
    CHECK_THROWS_WITH_AS(image::load_image(directory / "empty.jpg"),
                         contains(path("empty.jpg") + ": the file is empty (0 bytes)"), Error);

    testing::write_bytes(directory / "notes.png", "these are not pixels, just some text in a file\n");
    CHECK_THROWS_WITH_AS(image::load_image(directory / "notes.png"),
                         contains(path("notes.png") + ": cannot read the image (unknown image type)"), Error);

    const std::string png = encode(Format::png, pattern(40, 30, 3), 40, 30, 3);
    testing::write_bytes(directory / "truncated.png", png.substr(0, png.size() / 2));
    CHECK_THROWS_WITH_AS(image::load_image(directory / "truncated.png"),
                         contains(path("truncated.png") + ": cannot decode the image ("), Error);
    testing::write_bytes(directory / "header_only.png", png.substr(0, 20));
    CHECK_THROWS_WITH_AS(image::load_image(directory / "header_only.png"), contains(path("header_only.png")), Error);
}

TEST_CASE("image: the pixel limit refuses an image from its header, before decoding") {
    testing::TemporaryDirectory directory;
    testing::write_bytes(directory / "big.png", encode(Format::png, pattern(40, 30, 3), 40, 30, 3));
    image::LoadOptions options;
    options.limits.max_image_pixels = 1199;
    CHECK_THROWS_WITH_AS(
        image::load_image(directory / "big.png", options),
        contains((directory / "big.png").string() +
                 ": the image is 30x40; its pixel count 1200 exceeds the limit max_image_pixels = 1199; "
                 "if the file is trusted, raise it with CLIPFT_LIMITS=max_image_pixels=N"),
        Error);
    options.limits.max_image_pixels = 1200;
    CHECK(image::load_image(directory / "big.png", options).height == 40);
    options.limits.max_image_side = 39;
    CHECK_THROWS_WITH_AS(
        image::load_image(directory / "big.png", options),
        contains("big.png: the image is 30x40 pixels; its longer side 40 exceeds the limit max_image_side = 39"),
        Error);
    options.limits.max_image_side = 40;
    options.limits.max_image_file_bytes = std::filesystem::file_size(directory / "big.png") - 1;
    CHECK_THROWS_WITH_AS(image::load_image(directory / "big.png", options),
                         contains("big.png: the file size " + std::to_string(options.limits.max_image_file_bytes + 1) +
                                  " exceeds the limit max_image_file_bytes"),
                         Error);

    // A PNG whose header claims 12000 x 12000 pixels (144 megapixels, 432 MB decoded) but holds
    // one pixel of data: refused by the default limit from the header (stb_image does not check
    // the header's CRC); stb_image itself refuses headers beyond about 1 GB decoded.
    std::string bomb = encode(Format::png, pattern(1, 1, 3), 1, 1, 3);
    auto claim = [&](unsigned extent) {
        const std::string bytes = {char(extent >> 24), char(extent >> 16 & 0xFF), char(extent >> 8 & 0xFF),
                                   char(extent & 0xFF)};
        return std::string(bomb).replace(16, 4, bytes).replace(20, 4, bytes); // IHDR width, height (big-endian)
    };
    testing::write_bytes(directory / "bomb.png", claim(12000));
    CHECK_THROWS_WITH_AS(image::load_image(directory / "bomb.png"),
                         contains("bomb.png: the image is 12000x12000; its pixel count 144000000 exceeds the limit "
                                  "max_image_pixels = 100000000"),
                         Error);
    testing::write_bytes(directory / "huge.png", claim(60000));
    CHECK_THROWS_WITH_AS(image::load_image(directory / "huge.png"), contains("huge.png: cannot read the image"), Error);
}

TEST_CASE("image: a JPEG whose Huffman table declares more than 256 codes is refused before stb_image reads it") {
    // Found by fuzz/fuzz_image.cpp: stb_image 2.27 writes past its tables for such a segment.
    const std::string jpeg = encode(Format::jpeg, pattern(8, 8, 3), 8, 8, 3);
    const std::size_t table = jpeg.find("\xFF\xC4");
    REQUIRE(table != std::string::npos);
    std::string hostile = jpeg;
    hostile[table + 5] = hostile[table + 6] = '\xFF'; // the counts of 1- and 2-bit codes: 510 codes in all
    CHECK_THROWS_WITH_AS(
        image::decode_image({reinterpret_cast<const std::uint8_t*>(hostile.data()), hostile.size()}, "hostile.jpg"),
        contains("hostile.jpg: corrupt JPEG: a Huffman table (DHT segment at byte " + std::to_string(table) +
                 ") declares "),
        Error);
    // The same table after the first scan, where progressive JPEGs define theirs.
    const std::size_t scan_end = jpeg.rfind("\xFF\xD9");
    std::string late = jpeg.substr(0, scan_end) + jpeg.substr(table, 4 + 17) + "\xFF\xD9";
    late.replace(scan_end + 5, 2, "\xFF\xFF");
    CHECK_THROWS_WITH_AS(
        image::decode_image({reinterpret_cast<const std::uint8_t*>(late.data()), late.size()}, "late.jpg"),
        contains("late.jpg: corrupt JPEG: a Huffman table"), Error);
    // Found by the fuzzer's second run: stb_image skips padding between the segments before the
    // frame header, so such a table behind padding is read too.
    std::string bad_table("\xFF\xC4\x00\x13\x00\xFF\xFF", 7);
    bad_table += std::string(14, '\0');
    std::string padded = jpeg;
    padded.insert(jpeg.find("\xFF\xC0"), "\x01\x02\x03" + bad_table);
    CHECK_THROWS_WITH_AS(
        image::decode_image({reinterpret_cast<const std::uint8_t*>(padded.data()), padded.size()}, "padded.jpg"),
        contains("padded.jpg: corrupt JPEG: a Huffman table"), Error);
    CHECK(image::decode_image({reinterpret_cast<const std::uint8_t*>(jpeg.data()), jpeg.size()}, "valid.jpg").width ==
          8);
}

TEST_CASE("image: real photographs load with their size") {
    for (const char* name : {"face_0001.jpg", "face_0245.jpg"}) {
        auto path = testing::shared_path(std::filesystem::path("data/faces-real") / name);
        if (path.empty()) return;
        CAPTURE(name);
        Image photo = image::load_image(path);
        CHECK(photo.channels == 3);
        CHECK(photo.height >= 675); // 675x675 (London set) and 600x800 (lisa), width x height
        CHECK(photo.width >= 600);
        CHECK(photo.height * photo.width < 1'000'000);
        Tensor<float> tensor = image::preprocess(photo);
        CHECK(tensor.shape() == Shape{3, 224, 224});
    }
}
