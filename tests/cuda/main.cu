// Runner of the CUDA tests. Without a CUDA device (CI builds them wherever nvcc is, but has no GPU)
// it runs nothing and exits with 77, which ctest reports as skipped rather than passed or failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <clipft/backend/cuda/stream.hpp>

#include <doctest/doctest.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (clipft::backend::cuda::device_count() == 0) {
        std::printf("no CUDA device: the CUDA tests are skipped\n");
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
