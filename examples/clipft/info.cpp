// clipft info: version, thread count, the BLAS kernel in use and the kernel of bfloat16 products.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <iostream>

extern "C" char* openblas_get_corename(void);

namespace clipft::cli {

int info(const Options&) {
    std::cout << "{\"version\": \"" CLIPFT_VERSION_STRING "\", \"threads\": " << clipft::num_threads()
              << ", \"blas_core\": \"" << openblas_get_corename() << "\", \"bfloat16_kernel\": \""
              << backend::cpu::bfloat16_kernel_name(backend::cpu::bfloat16_kernel()) << "\"}\n";
    return 0;
}

} // namespace clipft::cli
