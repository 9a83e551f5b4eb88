// clipft info: version, thread count and the BLAS kernel in use.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <iostream>

extern "C" char* openblas_get_corename(void);

namespace clipft::cli {

int info(const Options&) {
    std::cout << "{\"version\": \"" CLIPFT_VERSION_STRING "\", \"threads\": " << clipft::num_threads() << ", \"blas_core\": \""
              << openblas_get_corename() << "\"}\n";
    return 0;
}

} // namespace clipft::cli
