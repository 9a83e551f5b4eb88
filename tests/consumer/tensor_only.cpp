// A downstream program that includes only <clipft/tensor.hpp>: building, linking and running it
// checks that the header stands alone, autograd's calls back into the ops included.
#include <clipft/tensor.hpp>

#include <iostream>

int main() {
    auto x = clipft::Tensor<float>::full({2, 3}, 1.5f);
    x.requires_grad_();
    // expand records a backward that sums the broadcast gradient; two uses of x accumulate.
    auto wide = x.unsqueeze(0).expand({4, 2, 3});
    wide.backward(clipft::Tensor<float>::ones({4, 2, 3}));
    x.reshape({3, 2}).backward(clipft::Tensor<float>::ones({3, 2}));
    float gradient = x.grad().to_vector()[0];
    std::cout << "tensor-only gradient " << gradient << "\n";
    return gradient == 5.0f ? 0 : 1;
}
