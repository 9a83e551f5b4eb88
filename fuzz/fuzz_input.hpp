#pragma once
// What the fuzz targets share. Readers that take a path get the input written to a scratch file in
// a folder of this process (under $TMPDIR); a clipft::Error is the expected outcome of a bad input,
// any other exception, crash, hang or excessive allocation is a finding.
#include <clipft/error.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

namespace clipft::fuzz {

inline std::filesystem::path scratch_folder() {
    static const std::filesystem::path folder = [] {
        std::filesystem::path path =
            std::filesystem::temp_directory_path() / ("clipft-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
        return path;
    }();
    return folder;
}

// Writes `bytes` to scratch_folder()/name (plainly, not atomically: a scratch file, rewritten per input).
inline std::filesystem::path write_scratch(const std::string& name, std::span<const std::uint8_t> bytes) {
    std::filesystem::path path = scratch_folder() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) std::abort(); // the harness itself failed, not clipft
    return path;
}

inline std::filesystem::path write_scratch(const std::string& name, std::string_view text) {
    return write_scratch(name, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

// Runs `body`, accepting clipft::Error (a refused input); everything else escapes to libFuzzer.
template <typename Body> void refused_or_accepted(Body&& body) {
    try {
        body();
    } catch (const clipft::Error&) {}
}

} // namespace clipft::fuzz
