#include <clipft/clip.hpp>
#include <iostream>
int main() {
    auto x = clipft::Tensor<float>::ones({2, 3});
    x.requires_grad_();
    auto y = clipft::sum(clipft::mul(x, x));
    y.backward();
    // d/dx sum(x*x) = 2x = 2
    std::cout << "loss " << y.item() << " grad " << x.grad().to_vector()[0] << "\n";
    // The installed description sets are found by name, in the package's own (moved) prefix.
    std::filesystem::path set = clipft::text::find_description_set("1desc");
    std::cout << "1desc: " << set << "\n";
    bool found = set == std::filesystem::path(EXPECTED_DESCRIPTIONS) / "1desc" &&
                 clipft::text::DescriptionSet::load(set, {"real", "fake"}).size() == 2;
    return (y.item() == 6.0f && x.grad().to_vector()[0] == 2.0f && found) ? 0 : 1;
}
