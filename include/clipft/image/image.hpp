#pragma once
// Images in memory (8-bit RGB or RGBA, row-major) and loading them from JPEG, PNG and BMP files
// with stb_image. Loading checks the pixel count from the file header before decoding, so a small
// file that claims a huge image (a decompression bomb) is refused without allocating it, and turns
// JPEG photos upright according to their EXIF orientation tag, as cameras and viewers expect.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/limits.hpp>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// stb_image is compiled into every translation unit as internal-linkage (static) functions, which
// keeps clipft header-only. A second copy of its implementation in the same file would clash.
#if defined(STBI_INCLUDE_STB_IMAGE_H)
#error "include <clipft/image/image.hpp> (or <clipft/clip.hpp>) before <stb/stb_image.h>: clipft has its own stb_image"
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO // files are read by clipft, which also needs the bytes for EXIF
#include <stb/stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic pop

namespace clipft::inline CLIPFT_BACKENDS::image {

// An 8-bit image: channels 3 (RGB) or 4 (RGBA, alpha not premultiplied); pixels row-major,
// height x width x channels.
struct Image {
    std::int64_t height = 0, width = 0, channels = 0;
    std::vector<std::uint8_t> pixels;

    Image() = default;
    // The size is checked before anything is allocated: a bad or huge one is a clipft::Error.
    Image(std::int64_t height_, std::int64_t width_, std::int64_t channels_)
        : height(height_), width(width_), channels(channels_) {
        if (height_ <= 0 || width_ <= 0 || (channels_ != 3 && channels_ != 4))
            fail("Image: ", height_, "x", width_, " pixels with ", channels_,
                 " channels; an image needs a positive size and 3 (RGB) or 4 (RGBA) channels");
        if (height_ > std::int64_t(pixels.max_size()) / width_ / channels_)
            fail("Image: ", height_, "x", width_, " pixels with ", channels_,
                 " channels are too many to hold in memory");
        std::size_t bytes = std::size_t(height_ * width_ * channels_);
        try {
            pixels.resize(bytes);
        } catch (const std::bad_alloc&) {
            fail("Image: out of memory allocating ", bytes, " bytes for ", height_, "x", width_, " pixels with ",
                 channels_, " channels");
        }
    }

    bool has_alpha() const { return channels == 4; }
    std::uint8_t* row(std::int64_t y) { return pixels.data() + y * width * channels; }
    const std::uint8_t* row(std::int64_t y) const { return pixels.data() + y * width * channels; }
    std::uint8_t& at(std::int64_t y, std::int64_t x, std::int64_t channel) { return row(y)[x * channels + channel]; }
    std::uint8_t at(std::int64_t y, std::int64_t x, std::int64_t channel) const {
        return row(y)[x * channels + channel];
    }
};

struct LoadOptions {
    // File size, pixel count and side length are checked before decoding, so that a small file
    // claiming a huge image (a decompression bomb) is refused without allocating it.
    io::Limits limits = io::limits();
    // Turn JPEGs upright by their EXIF orientation. OpenAI's CLIP preprocessing does not (Pillow's
    // Image.open ignores the tag); switch this off to reproduce it on rotated photos.
    bool apply_exif_orientation = true;
};

namespace detail {

inline std::uint32_t read_unsigned(const std::uint8_t* bytes, int count, bool big_endian) {
    std::uint32_t value = 0;
    for (int i = 0; i < count; ++i)
        value |= std::uint32_t(bytes[big_endian ? i : count - 1 - i]) << (8 * (count - 1 - i));
    return value;
}

// The Orientation tag (0x0112) of the first IFD of a TIFF block (the body of an Exif segment),
// or 1 (upright) when absent or malformed.
inline int tiff_orientation(std::span<const std::uint8_t> tiff) {
    if (tiff.size() < 8) return 1;
    bool big_endian = tiff[0] == 'M' && tiff[1] == 'M';
    if (!big_endian && !(tiff[0] == 'I' && tiff[1] == 'I')) return 1;
    if (read_unsigned(&tiff[2], 2, big_endian) != 42) return 1;
    std::uint64_t directory = read_unsigned(&tiff[4], 4, big_endian);
    if (directory + 2 > tiff.size()) return 1;
    std::uint32_t entries = read_unsigned(&tiff[directory], 2, big_endian);
    for (std::uint32_t i = 0; i < entries; ++i) {
        std::uint64_t entry = directory + 2 + 12 * std::uint64_t(i);
        if (entry + 12 > tiff.size()) return 1;
        if (read_unsigned(&tiff[entry], 2, big_endian) != 0x0112) continue;
        constexpr std::uint32_t short_type = 3;
        if (read_unsigned(&tiff[entry + 2], 2, big_endian) != short_type) return 1;
        std::uint32_t value = read_unsigned(&tiff[entry + 8], 2, big_endian);
        return value >= 1 && value <= 8 ? int(value) : 1;
    }
    return 1;
}

} // namespace detail

// The EXIF orientation (1..8, 1 = upright) of JPEG data, found in its APP1 "Exif" segment before
// the image data; 1 for anything else.
inline int exif_orientation(std::span<const std::uint8_t> jpeg) {
    if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
    std::size_t position = 2;
    while (position + 4 <= jpeg.size()) {
        if (jpeg[position] != 0xFF) return 1;
        std::uint8_t marker = jpeg[position + 1];
        if (marker == 0xFF) { // fill byte before a marker
            ++position;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) return 1;             // start of scan / end of image: no more headers
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // markers without a length
            position += 2;
            continue;
        }
        std::size_t length = detail::read_unsigned(&jpeg[position + 2], 2, true);
        if (length < 2 || position + 2 + length > jpeg.size()) return 1;
        std::span<const std::uint8_t> body = jpeg.subspan(position + 4, length - 2);
        constexpr std::string_view exif_header("Exif\0\0", 6);
        if (marker == 0xE1 && body.size() >= exif_header.size() &&
            std::equal(exif_header.begin(), exif_header.end(), body.begin()))
            return detail::tiff_orientation(body.subspan(exif_header.size()));
        position += 2 + length;
    }
    return 1;
}

// The image as it should be displayed for an EXIF orientation: 2 mirror left-right, 3 rotate 180,
// 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
// counter-clockwise (5..8 swap height and width); 1 is a copy.
inline Image apply_exif_orientation(const Image& image, int orientation) {
    if (orientation < 1 || orientation > 8)
        fail("apply_exif_orientation: orientation ", orientation, " is not an EXIF orientation (1..8)");
    const std::int64_t height = image.height, width = image.width, channels = image.channels;
    const bool swaps = orientation >= 5;
    Image result(swaps ? width : height, swaps ? height : width, channels);
    const std::int64_t row_step = width * channels;
    for (std::int64_t y = 0; y < result.height; ++y) {
        // Element offset of the source of output pixel (y, 0), and the step per output column.
        std::int64_t start = 0, step = 0;
        switch (orientation) {
        case 1:
            start = y * row_step, step = channels;
            break;
        case 2:
            start = y * row_step + (width - 1) * channels, step = -channels;
            break;
        case 3:
            start = (height - 1 - y) * row_step + (width - 1) * channels, step = -channels;
            break;
        case 4:
            start = (height - 1 - y) * row_step, step = channels;
            break;
        case 5:
            start = y * channels, step = row_step;
            break;
        case 6:
            start = (height - 1) * row_step + y * channels, step = -row_step;
            break;
        case 7:
            start = (height - 1) * row_step + (width - 1 - y) * channels, step = -row_step;
            break;
        default:
            start = (width - 1 - y) * channels, step = row_step;
            break;
        }
        std::uint8_t* out = result.row(y);
        const std::uint8_t* source = image.pixels.data() + start;
        for (std::int64_t x = 0; x < result.width; ++x, source += step, out += channels)
            std::memcpy(out, source, std::size_t(channels));
    }
    return result;
}

namespace detail {

// stb_image 2.27 (Debian's) writes past its Huffman tables when a DHT segment declares more than
// 256 codes (found by fuzz/fuzz_image.cpp; fixed upstream in 2.28). Such a JPEG is refused here,
// before stb_image sees it, by visiting every DHT segment that stb_image would process: segment
// after segment, skipping bytes between segments (stb_image does so before the frame header, as
// padding; elsewhere it stops, so visiting more is only stricter), and after each scan from the
// first marker in its entropy-coded data on (bytes past the end read as 0, as in stb_image).
inline void check_jpeg_huffman_tables(std::span<const std::uint8_t> jpeg, const std::string& name) {
    auto byte = [&](std::size_t at) -> std::uint32_t { return at < jpeg.size() ? jpeg[at] : 0; };
    auto is_restart = [](std::uint32_t marker) { return marker >= 0xD0 && marker <= 0xD7; };
    std::size_t position = 2; // after the start-of-image marker
    std::uint32_t marker = 0;
    auto read_marker = [&] { // the next marker (padding, 0xFF, fill bytes, code); false at the end
        while (position < jpeg.size() && jpeg[position] != 0xFF) ++position;
        if (position >= jpeg.size()) return false;
        while (position < jpeg.size() && byte(position) == 0xFF) ++position;
        marker = byte(position++);
        return position <= jpeg.size();
    };
    bool have_marker = read_marker();
    while (have_marker) {
        const bool segment = marker == 0xC4 || marker == 0xDA || marker == 0xDB || marker == 0xDD || marker == 0xDC ||
                             (marker >= 0xC0 && marker <= 0xCF) || (marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE;
        if (!segment) return; // end of image, or a marker stb_image refuses
        const std::int64_t length = std::int64_t(byte(position) << 8 | byte(position + 1));
        if (length < 2) return;
        if (marker == 0xC4) {
            std::size_t table = position + 2;
            for (std::int64_t left = length - 2; left > 0;) {
                std::uint32_t codes = 0;
                for (std::size_t i = 1; i <= 16; ++i) codes += byte(table + i);
                if (codes > 256)
                    fail(name, ": corrupt JPEG: a Huffman table (DHT segment at byte ", position - 2, ") declares ",
                         codes, " codes, more than the 256 a table can hold");
                table += 17 + codes;
                left -= 17 + std::int64_t(codes);
            }
        }
        position += std::size_t(length);
        if (marker != 0xDA) {
            have_marker = read_marker();
            continue;
        }
        // Entropy-coded data: 0xFF is followed by 0 (a stuffed byte) or a restart marker, until the
        // marker that ends the scan.
        have_marker = false;
        for (; position + 1 < jpeg.size(); ++position) {
            if (jpeg[position] != 0xFF) continue;
            std::size_t code = position + 1;
            while (code < jpeg.size() && jpeg[code] == 0xFF) ++code;
            if (code >= jpeg.size()) break;
            if (jpeg[code] == 0 || is_restart(jpeg[code])) {
                position = code;
                continue;
            }
            marker = jpeg[code];
            position = code + 1;
            have_marker = true;
            break;
        }
    }
}

} // namespace detail

// Decodes an image file's bytes; `name` (the file) is what error messages cite. Gray images come
// back as RGB, images with transparency as RGBA.
inline Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                          const LoadOptions& options = {}) {
    if (bytes.empty()) fail(name, ": the file is empty (0 bytes); expected a JPEG, PNG or BMP image");
    if (bytes.size() > std::size_t(INT32_MAX))
        fail(name, ": ", bytes.size(), " bytes is larger than the image decoder accepts (2 GiB)");
    if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) detail::check_jpeg_huffman_tables(bytes, name);
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int size = int(bytes.size());
    int width = 0, height = 0, file_channels = 0;
    if (!stbi_info_from_memory(data, size, &width, &height, &file_channels))
        fail(name, ": cannot read the image (", stbi_failure_reason(),
             "): not a JPEG, PNG or BMP file, or its header is corrupt");
    const std::string size_text = std::to_string(width) + "x" + std::to_string(height);
    io::check_limit(std::uint64_t(std::max(width, height)), options.limits.max_image_side, "max_image_side",
                    name + ": the image is " + size_text + " pixels; its longer side");
    io::check_limit(std::uint64_t(width) * std::uint64_t(height), options.limits.max_image_pixels, "max_image_pixels",
                    name + ": the image is " + size_text + "; its pixel count");
    const int channels = file_channels == 2 || file_channels == 4 ? 4 : 3;
    stbi_uc* decoded = stbi_load_from_memory(data, size, &width, &height, &file_channels, channels);
    if (!decoded)
        fail(name, ": cannot decode the image (", stbi_failure_reason(), "); the file is corrupt or truncated");
    Image image(height, width, channels);
    std::memcpy(image.pixels.data(), decoded, image.pixels.size());
    stbi_image_free(decoded);
    if (options.apply_exif_orientation) {
        int orientation = exif_orientation(bytes);
        if (orientation != 1) image = apply_exif_orientation(image, orientation);
    }
    return image;
}

// Loads a JPEG, PNG or BMP file (see decode_image).
inline Image load_image(const std::filesystem::path& path, const LoadOptions& options = {}) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        fail(path.string(),
             ": cannot read the image: ", std::filesystem::exists(path, error) ? "not a regular file" : "no such file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path.string(), ": cannot open the image: ", std::strerror(errno));
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    if (error) fail(path.string(), ": cannot read the image: ", error.message());
    io::check_limit(size, options.limits.max_image_file_bytes, "max_image_file_bytes",
                    path.string() + ": the file size");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!in) fail(path.string(), ": cannot read the image: ", std::strerror(errno));
    return decode_image(bytes, path.string(), options);
}

} // namespace clipft::image
