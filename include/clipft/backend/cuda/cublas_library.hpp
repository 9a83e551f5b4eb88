#pragma once
// cuBLAS, loaded when the first product on a GPU needs it. A program linked to it carries ~210 MB
// of resident memory from start-up on (libcublasLt's relocations), whether or not it ever uses a
// GPU, and most runs of a CUDA build of clipft are on the CPU. So the CUDA backend resolves the few
// cuBLAS functions it calls from the shared library at run time.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/version.hpp>

#include <cublas_v2.h>
#include <dlfcn.h>

#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

struct CublasLibrary {
    // cublas_v2.h maps these names to their _v2 symbols; decltype and the name go through that.
    decltype(&cublasCreate) create = nullptr;
    decltype(&cublasDestroy) destroy = nullptr;
    decltype(&cublasSetStream) set_stream = nullptr;
    decltype(&cublasGetStatusName) status_name = nullptr;
    decltype(&cublasGetStatusString) status_string = nullptr;
    // The header overloads this one (a cudaDataType compute type), so its type is spelt out.
    cublasStatus_t (*gemm_strided_batched)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                           const void*, const void*, cudaDataType, int, long long, const void*,
                                           cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                           long long, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
    std::string path; // the file it was loaded from
};

namespace detail {

// The library under its soname, found like a linked one (LD_LIBRARY_PATH, the program's run path,
// ldconfig's cache), else at the path CMake found at build time.
inline void* open_cublas(std::string& path) {
    std::string soname = "libcublas.so." CLIPFT_STRINGIFY(CUBLAS_VER_MAJOR);
    std::vector<std::string> candidates{soname};
#ifdef CLIPFT_CUBLAS_LIBRARY
    candidates.push_back(CLIPFT_CUBLAS_LIBRARY);
#endif
    std::string errors;
    for (const std::string& candidate : candidates) {
        if (void* library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL)) {
            path = candidate;
            return library;
        }
        const char* error = dlerror();
        errors += std::string(errors.empty() ? "" : "; ") + (error ? error : candidate);
    }
    fail("cannot load cuBLAS ", soname, " for the CUDA backend (", errors, "): install the CUDA Toolkit's cuBLAS ",
         CUBLAS_VER_MAJOR, ".x or add its lib folder to LD_LIBRARY_PATH");
}

template <typename Function>
void resolve(void* library, const std::string& path, const char* name, Function& function) {
    function = reinterpret_cast<Function>(dlsym(library, name));
    if (!function)
        fail("cuBLAS at ", path, " lacks ", name, ": it is older than the cuBLAS ", CUBLAS_VER_MAJOR,
             " clipft was built with; point LD_LIBRARY_PATH to that one");
}

} // namespace detail

// Loaded once, on first use, for the whole program (never unloaded: handles may outlive main).
inline const CublasLibrary& cublas() {
    static const CublasLibrary library = [] {
        CublasLibrary functions;
        void* handle = detail::open_cublas(functions.path);
        detail::resolve(handle, functions.path, CLIPFT_STRINGIFY(cublasCreate), functions.create);
        detail::resolve(handle, functions.path, CLIPFT_STRINGIFY(cublasDestroy), functions.destroy);
        detail::resolve(handle, functions.path, CLIPFT_STRINGIFY(cublasSetStream), functions.set_stream);
        detail::resolve(handle, functions.path, "cublasGetStatusName", functions.status_name);
        detail::resolve(handle, functions.path, "cublasGetStatusString", functions.status_string);
        detail::resolve(handle, functions.path, "cublasGemmStridedBatchedEx", functions.gemm_strided_batched);
        return functions;
    }();
    return library;
}

inline void check_cublas(cublasStatus_t status, const char* call) {
    if (status != CUBLAS_STATUS_SUCCESS)
        fail("cuBLAS error in ", call, ": ", cublas().status_name(status), " (", cublas().status_string(status), ")");
}

} // namespace clipft::backend::cuda

// The call's own text names it in the message: CLIPFT_CUBLAS_CHECK(cublas().create(&handle)).
#define CLIPFT_CUBLAS_CHECK(call) ::clipft::backend::cuda::check_cublas((call), #call)
