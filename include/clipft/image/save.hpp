#pragma once
// Writing images as PNG, JPEG or BMP with stb_image_write (compiled privately, like stb_image),
// to memory or to a file replaced atomically.
#include <clipft/backends.hpp>
#include <clipft/image/image.hpp>
#include <clipft/io/atomic_file.hpp>

#if defined(INCLUDE_STB_IMAGE_WRITE_H)
#error "include <clipft/image/save.hpp> before <stb/stb_image_write.h>: clipft has its own stb_image_write"
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic pop

#include <algorithm>
#include <cctype>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::image {

enum class ImageFormat { png, jpeg, bmp };

// The format a file name asks for (.png, .jpg/.jpeg, .bmp, any case).
inline ImageFormat format_of(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (extension == ".png") return ImageFormat::png;
    if (extension == ".jpg" || extension == ".jpeg") return ImageFormat::jpeg;
    if (extension == ".bmp") return ImageFormat::bmp;
    fail(path.string(), ": cannot tell the image format from the extension '", extension, "'; use .png, .jpg or .bmp");
}

// The file bytes of 8-bit pixels (height x width x channels, 1 to 4 channels: gray, gray + alpha,
// RGB, RGBA) in `format`; jpeg_quality in 1..100.
inline std::string encode_pixels(ImageFormat format, const std::uint8_t* pixels, std::int64_t height,
                                 std::int64_t width, std::int64_t channels, int jpeg_quality = 95) {
    if (height <= 0 || width <= 0 || channels < 1 || channels > 4)
        fail("encode_pixels: cannot encode ", height, "x", width, " pixels with ", channels, " channels");
    if (jpeg_quality < 1 || jpeg_quality > 100)
        fail("encode_pixels: JPEG quality ", jpeg_quality, " is outside 1..100");
    std::string bytes;
    auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), std::size_t(size));
    };
    int w = int(width), h = int(height), c = int(channels), written = 0;
    switch (format) {
    case ImageFormat::png:
        written = stbi_write_png_to_func(append, &bytes, w, h, c, pixels, w * c);
        break;
    case ImageFormat::jpeg:
        written = stbi_write_jpg_to_func(append, &bytes, w, h, c, pixels, jpeg_quality);
        break;
    case ImageFormat::bmp:
        written = stbi_write_bmp_to_func(append, &bytes, w, h, c, pixels);
        break;
    }
    if (!written) fail("encode_pixels: stb_image_write could not encode a ", height, "x", width, " image");
    return bytes;
}

inline std::string encode_image(const Image& image, ImageFormat format, int jpeg_quality = 95) {
    return encode_pixels(format, image.pixels.data(), image.height, image.width, image.channels, jpeg_quality);
}

inline void save_image(const std::filesystem::path& path, const Image& image, int jpeg_quality = 95) {
    std::string bytes = encode_image(image, format_of(path), jpeg_quality);
    io::write_file_atomically(path, [&](io::FileWriter& writer) { writer.write(bytes); });
}

} // namespace clipft::image
