// cuBLAS is loaded on first use, not linked (backend/cuda/cublas_library.hpp).
#include <clipft/backend/cuda/cublas_library.hpp>

#include <doctest/doctest.h>

#include <string>

extern bool cublas_mapped_at_start;

TEST_SUITE("without a device") {
    TEST_CASE("cuBLAS is not in the process until the first GPU product, then it loads and answers") {
        CHECK_FALSE(cublas_mapped_at_start);
        // cublas() throws, naming the file and the symbol, when loading or resolving fails.
        const clipft::backend::cuda::CublasLibrary& library = clipft::backend::cuda::cublas();
        CHECK(library.path.find("libcublas") != std::string::npos);
        CHECK(std::string(library.status_name(CUBLAS_STATUS_NOT_INITIALIZED)) == "CUBLAS_STATUS_NOT_INITIALIZED");
        CHECK(std::string(library.status_name(CUBLAS_STATUS_INVALID_VALUE)) == "CUBLAS_STATUS_INVALID_VALUE");
        CHECK_FALSE(std::string(library.status_string(CUBLAS_STATUS_INVALID_VALUE)).empty());
    }

    TEST_CASE("a failed cuBLAS call is an error naming the call and the status") {
        cublasStatus_t invalid_call = CUBLAS_STATUS_INVALID_VALUE;
        try {
            CLIPFT_CUBLAS_CHECK(invalid_call);
            FAIL("no error");
        } catch (const clipft::Error& error) {
            std::string message = error.what();
            CHECK(message.find("cuBLAS error in invalid_call: CUBLAS_STATUS_INVALID_VALUE (") != std::string::npos);
            CHECK(message.find(clipft::backend::cuda::cublas().status_string(CUBLAS_STATUS_INVALID_VALUE)) !=
                  std::string::npos);
        }
    }
}
