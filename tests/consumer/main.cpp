#include <clipft/clip.hpp>
#include <iostream>
int main() {
    auto x = clipft::Tensor<float>::ones({2, 3});
    x.requires_grad_();
    auto y = clipft::sum(clipft::mul(x, x));
    y.backward();
    // d/dx sum(x*x) = 2x = 2
    std::cout << "loss " << y.item() << " grad " << x.grad().to_vector()[0] << "\n";
    return (y.item() == 6.0f && x.grad().to_vector()[0] == 2.0f) ? 0 : 1;
}
