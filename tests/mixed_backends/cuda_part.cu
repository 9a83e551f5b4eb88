// The CUDA translation unit of the mixed-backends test (see test_mixed_backends.cpp).
#include <clipft/tensor.hpp>

#include <string>
#include <typeinfo>

// What Tensor::to(Device::cuda(0)) does here: "moved" with a GPU, else the CUDA error's message.
std::string move_to_gpu_in_cuda_unit() {
    try {
        clipft::Tensor<float>::zeros({2}).to(clipft::Device::cuda(0));
        return "moved";
    } catch (const clipft::Error& error) {
        return error.what();
    }
}

std::string tensor_type_in_cuda_unit() { return typeid(clipft::Tensor<float>).name(); }

void reshape_wrongly_in_cuda_unit() { clipft::Tensor<float>::zeros({2}).reshape({3}); }
