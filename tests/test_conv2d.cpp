#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/ops/conv2d.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using testing::check_values;
using clipft::testing::check_gradients;
using clipft::testing::random_tensor;

namespace {

// The convolution's definition at stride P, by plain loops: out[n, o, y, x] = bias[o] +
// sum over (c, ky, kx) of weight[o, c, ky, kx] * input[n, c, y P + ky, x P + kx].
template <typename T>
std::vector<double> naive_conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias) {
    std::int64_t size = weight.size(2);
    std::vector<double> out;
    for (std::int64_t n = 0; n < input.size(0); ++n)
        for (std::int64_t o = 0; o < weight.size(0); ++o)
            for (std::int64_t y = 0; y < input.size(2) / size; ++y)
                for (std::int64_t x = 0; x < input.size(3) / size; ++x) {
                    double total = bias.defined() ? double(bias.at({o})) : 0.0;
                    for (std::int64_t c = 0; c < input.size(1); ++c)
                        for (std::int64_t ky = 0; ky < size; ++ky)
                            for (std::int64_t kx = 0; kx < size; ++kx)
                                total += double(weight.at({o, c, ky, kx})) *
                                         double(input.at({n, c, y * size + ky, x * size + kx}));
                    out.push_back(total);
                }
    return out;
}

} // namespace

TEST_CASE_TEMPLATE("conv2d at stride == kernel size matches the convolution's definition", T, float, double) {
    Tensor<T> input = random_tensor({2, 3, 8, 12}, 1).to<T>();
    Tensor<T> weight = random_tensor({5, 3, 4, 4}, 2).to<T>(), bias = random_tensor({5}, 3).to<T>();
    check_values(ops::conv2d(input, weight, bias, 4), {2, 5, 2, 3}, naive_conv2d(input, weight, bias));
    check_values(ops::conv2d(input, weight, {}, 4), {2, 5, 2, 3}, naive_conv2d(input, weight, Tensor<T>()));
    // Channels-last input memory (a permuted view) reads the same pixels.
    Tensor<T> channels_last = random_tensor({2, 8, 12, 3}, 4).to<T>().permute({0, 3, 1, 2});
    check_values(ops::conv2d(channels_last, weight, bias, 4), {2, 5, 2, 3}, naive_conv2d(channels_last, weight, bias));
}

TEST_CASE("conv2d output is the NCHW view of contiguous [N, H/P, W/P, O] tokens") {
    Tensor<double> out = ops::conv2d(random_tensor({2, 3, 4, 4}, 5), random_tensor({6, 3, 2, 2}, 6), {}, 2);
    CHECK(out.permute({0, 2, 3, 1}).is_contiguous());
}

TEST_CASE("conv2d of a closed-form 1 x 1 x 2 x 2 image") {
    auto image = Tensor<double>::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
    auto weight = Tensor<double>::from_vector({1, 10, 100, 1000, -1, -1, -1, -1}, {2, 1, 2, 2});
    auto out = ops::conv2d(image, weight, Tensor<double>::from_vector({0.5, 0}), 2);
    CHECK(out.shape() == Shape{1, 2, 1, 1});
    CHECK(out.to_vector() == std::vector<double>{4321.5, -10});
}

TEST_CASE("conv2d gradients") {
    check_gradients([](const std::vector<Tensor<double>>& in) { return ops::conv2d(in[0], in[1], in[2], 2); },
                    {random_tensor({2, 3, 4, 4}, 10), random_tensor({4, 3, 2, 2}, 11), random_tensor({4}, 12)});
    check_gradients([](const std::vector<Tensor<double>>& in) { return ops::conv2d(in[0], in[1], {}, 2); },
                    {random_tensor({2, 3, 4, 4}, 13), random_tensor({4, 3, 2, 2}, 14)});
    // As CLIP's vision tower uses it: conv, then patches as tokens.
    check_gradients(
        [](const std::vector<Tensor<double>>& in) {
            return ops::conv2d(in[0], in[1], {}, 2).flatten(2).transpose(1, 2);
        },
        {random_tensor({2, 3, 4, 4}, 15), random_tensor({4, 3, 2, 2}, 16)});
}

TEST_CASE("conv2d rejects unsupported or mismatched arguments") {
    auto input = Tensor<double>::ones({2, 3, 4, 4}), weight = Tensor<double>::ones({4, 3, 2, 2});
    CHECK_THROWS_WITH_AS(ops::conv2d(input, weight, {}, 1),
                         "conv2d: only stride == kernel size (patch embedding) is supported; got stride 1 for weight "
                         "of shape [4, 3, 2, 2]",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(input, Tensor<double>::ones({4, 3, 2, 1}), {}, 2),
                         "conv2d: only stride == kernel size (patch embedding) is supported; got stride 2 for weight "
                         "of shape [4, 3, 2, 1]",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(
        ops::conv2d(input, Tensor<double>::ones({4, 1, 2, 2}), {}, 2),
        "conv2d: input of shape [2, 3, 4, 4] has 3 channels but weight of shape [4, 1, 2, 2] expects 1", clipft::Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(Tensor<double>::ones({2, 3, 5, 4}), weight, {}, 2),
                         "conv2d: input of shape [2, 3, 5, 4] does not divide into 2 x 2 patches; resize or crop the "
                         "images to multiples of 2",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(Tensor<double>::ones({3, 4, 4}), weight, {}, 2),
                         "conv2d: input of shape [3, 4, 4] and weight of shape [4, 3, 2, 2]: the input must be "
                         "[N, C, H, W] and the weight [out_channels, C, P, P]",
                         clipft::Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(input, weight, Tensor<double>::ones({3}), 2),
                         "conv2d: bias of shape [3] does not match weight of shape [4, 3, 2, 2]; it must be [4]",
                         clipft::Error);
}
