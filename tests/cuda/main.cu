// Runner of the CUDA tests. Without a CUDA device (CI builds them wherever nvcc is, but has no GPU)
// it runs only the tests of the suite "without a device" and then exits with 77, which ctest
// reports as skipped rather than passed or failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <clipft/backend/cuda/stream.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

// Whether cuBLAS was in the process before any test ran (test_cuda_library.cu checks that it is not).
bool cublas_mapped_at_start = false;

static bool process_maps(const std::string& library) {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find(library) != std::string::npos) return true;
    return false;
}

int main(int argc, char** argv) {
    cublas_mapped_at_start = process_maps("libcublas");
    doctest::Context context(argc, argv);
    if (clipft::backend::cuda::device_count() == 0) {
        std::printf("no CUDA device: only the tests that need none run, the others are skipped\n");
        context.addFilter("test-suite", "without a device");
        int failed = context.run();
        return failed ? failed : 77;
    }
    return context.run();
}
