#pragma once
// Test helpers for files: the shared reference data (CLIPFT_SHARED_DIR, set by the build) and
// scratch directories.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef CLIPFT_SHARED_DIR
#error "tests need CLIPFT_SHARED_DIR (the shared data directory) defined as a string literal"
#endif

namespace clipft::testing {

// `relative` inside the shared data directory. When it is missing, the test fails if the
// environment variable CI is "true" (CI must never pass by skipping); otherwise the test is
// reported as skipped and the path returned is empty: callers do `if (path.empty()) return;`.
inline std::filesystem::path shared_path(const std::filesystem::path& relative) {
    std::filesystem::path path = std::filesystem::path(CLIPFT_SHARED_DIR) / relative;
    if (std::filesystem::exists(path)) return path;
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true")
        FAIL("shared test data " << path << " is missing (set CLIPFT_SHARED_DIR when configuring)");
    MESSAGE("skipped: shared test data " << path << " is missing (set CLIPFT_SHARED_DIR when configuring)");
    return {};
}

// `relative` inside the reference fixtures (CLIPFT_SHARED_DIR/fixtures), as shared_path.
inline std::filesystem::path fixture_path(const std::filesystem::path& relative) {
    return shared_path(std::filesystem::path("fixtures") / relative);
}

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

// A fresh directory under the system's temporary directory, removed with its content at scope exit.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        std::string pattern = (std::filesystem::temp_directory_path() / "clipft-test-XXXXXX").string();
        REQUIRE_MESSAGE(::mkdtemp(pattern.data()) != nullptr, "cannot create a temporary directory");
        path_ = pattern;
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    ~TemporaryDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& relative) const { return path_ / relative; }

private:
    std::filesystem::path path_;
};

} // namespace clipft::testing
