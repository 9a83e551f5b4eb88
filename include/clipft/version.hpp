#pragma once
// clipft's version. CMakeLists.txt reads these three numbers as the project version, so the
// package version (find_package(clipft 0.1)) and the headers cannot disagree.
#define CLIPFT_VERSION_MAJOR 0
#define CLIPFT_VERSION_MINOR 1
#define CLIPFT_VERSION_PATCH 0

// A macro's value as a string literal (the version below, cuBLAS's soname in backend/cuda).
#define CLIPFT_STRINGIFY_(x) #x
#define CLIPFT_STRINGIFY(x) CLIPFT_STRINGIFY_(x)
// "0.1.0"
#define CLIPFT_VERSION_STRING                                                                                          \
    CLIPFT_STRINGIFY(CLIPFT_VERSION_MAJOR)                                                                             \
    "." CLIPFT_STRINGIFY(CLIPFT_VERSION_MINOR) "." CLIPFT_STRINGIFY(CLIPFT_VERSION_PATCH)
