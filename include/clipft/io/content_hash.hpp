#pragma once
// A 64-bit content hash of files (FNV-1a over 8-byte words, four interleaved lanes for speed):
// what identifies a model's weights in a feature cache or a probe, so that a renamed or copied
// model still matches and a changed one does not. Not cryptographic.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::io {

// The hash of the files' bytes in order (each file's size mixed in, so boundaries count), as 16 hex digits.
inline std::string content_hash(const std::vector<std::filesystem::path>& files) {
    constexpr std::uint64_t prime = 0x100000001b3ull;
    std::uint64_t lanes[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull,
                              0xc2b2ae3d27d4eb4full};
    std::vector<std::uint64_t> buffer(1 << 17);
    for (const std::filesystem::path& path : files) {
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
        if (!file) fail(path.string(), ": cannot read (", std::strerror(errno), ")");
        std::uint64_t total = 0;
        for (;;) {
            std::size_t got = std::fread(buffer.data(), 1, buffer.size() * 8, file.get());
            if (got == 0) break;
            std::memset(reinterpret_cast<char*>(buffer.data()) + got, 0, (8 - got % 8) % 8);
            std::size_t words = (got + 7) / 8;
            for (std::size_t i = 0; i < words; ++i) lanes[i & 3] = (lanes[i & 3] ^ buffer[i]) * prime;
            total += got;
        }
        if (std::ferror(file.get())) fail(path.string(), ": read error while hashing (", std::strerror(errno), ")");
        lanes[0] = (lanes[0] ^ total) * prime;
    }
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (std::uint64_t lane : lanes)
        for (int byte = 0; byte < 8; ++byte) hash = (hash ^ ((lane >> (8 * byte)) & 0xff)) * prime;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

} // namespace clipft::io
