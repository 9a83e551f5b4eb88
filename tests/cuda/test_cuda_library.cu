// cuBLAS is loaded on first use, not linked (backend/cuda/cublas_library.hpp).
#include <clipft/backend/cuda/cublas_library.hpp>

#include <doctest/doctest.h>

#include <string>

extern bool cublas_mapped_at_start;

TEST_SUITE("without a device") {
    TEST_CASE("cuBLAS is not in the process until the first GPU product, then every function resolves") {
        CHECK_FALSE(cublas_mapped_at_start);
        const clipft::backend::cuda::CublasLibrary& library = clipft::backend::cuda::cublas();
        CHECK(library.path.find("libcublas") != std::string::npos);
        CHECK(static_cast<bool>(library.create));
        CHECK(static_cast<bool>(library.destroy));
        CHECK(static_cast<bool>(library.set_stream));
        CHECK(static_cast<bool>(library.gemm_strided_batched));
        CHECK(std::string(library.status_name(CUBLAS_STATUS_NOT_INITIALIZED)) == "CUBLAS_STATUS_NOT_INITIALIZED");
        CHECK(&clipft::backend::cuda::cublas() == &library);
    }

    TEST_CASE("a failed cuBLAS call is an error naming the call and the status") {
        try {
            CLIPFT_CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE);
            FAIL("no error");
        } catch (const clipft::Error& error) {
            std::string message = error.what();
            CHECK(message.find("CUBLAS_STATUS_INVALID_VALUE") != std::string::npos);
            CHECK(message.find("cuBLAS error in") != std::string::npos);
        }
    }
}
