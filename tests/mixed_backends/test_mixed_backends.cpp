// A program whose translation units are built both ways: this one for the CPU only, cuda_part.cu
// with the CUDA backend. Both instantiate the same clipft templates; each must keep its own build
// of them (include/clipft/backends.hpp) rather than the one the linker happens to keep. Runs
// without a GPU: the CUDA unit then fails at the driver, not for want of a backend.
#include <clipft/tensor.hpp>

#include <doctest/doctest.h>

#include <string>
#include <typeinfo>

std::string move_to_gpu_in_cuda_unit();
std::string tensor_type_in_cuda_unit();
void reshape_wrongly_in_cuda_unit();

namespace {

const std::string no_backend = "this translation unit has no CUDA backend";

std::string move_to_gpu_here() {
    try {
        clipft::Tensor<float>::zeros({2}).to(clipft::Device::cuda(0));
        return "moved";
    } catch (const clipft::Error& error) {
        return error.what();
    }
}

} // namespace

TEST_CASE("a CPU-only and a CUDA translation unit each keep their own build of clipft") {
    std::string here = move_to_gpu_here(), there = move_to_gpu_in_cuda_unit();
    CAPTURE(here);
    CAPTURE(there);
    CHECK(here.find(no_backend) != std::string::npos);
    CHECK(there.find(no_backend) == std::string::npos);
    CHECK(std::string(typeid(clipft::Tensor<float>).name()) != tensor_type_in_cuda_unit());
}

TEST_CASE("a clipft::Error thrown by the CUDA translation unit is caught as one in the CPU unit") {
    CHECK_THROWS_AS(reshape_wrongly_in_cuda_unit(), clipft::Error);
}
