// include/clipft/version.hpp against the CMake project version (passed to this file alone by
// tests/CMakeLists.txt).
#include <clipft/version.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_CASE("version.hpp: the numbers are those of the CMake project") {
    CHECK(CLIPFT_VERSION_MAJOR == CLIPFT_PROJECT_VERSION_MAJOR);
    CHECK(CLIPFT_VERSION_MINOR == CLIPFT_PROJECT_VERSION_MINOR);
    CHECK(CLIPFT_VERSION_PATCH == CLIPFT_PROJECT_VERSION_PATCH);
    CHECK(std::string(CLIPFT_VERSION_STRING) == CLIPFT_PROJECT_VERSION);
}
