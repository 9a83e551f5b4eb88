// Fully masked rows on the GPU follow the CPU's rule (backend/cpu/softmax.hpp): softmax zeros,
// log_softmax -inf, attention zeros with zero gradients, never NaN.
#include "compare.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace clipft;
using namespace clipft::testing;
using Inputs = std::vector<Tensor<float>>;

TEST_CASE("a fully masked row on the GPU: softmax zeros, log_softmax -inf, attention zeros") {
    const float infinity = std::numeric_limits<float>::infinity();
    Tensor<float> x = uniform<float>({3, 5}, 4);
    for (std::int64_t j = 0; j < 5; ++j) x.data()[5 + j] = -infinity;
    std::vector<float> y = ops::softmax(x.to(gpu)).to(Device::cpu()).to_vector();
    std::vector<float> log_y = ops::log_softmax(x.to(gpu)).to(Device::cpu()).to_vector();
    for (std::size_t j = 0; j < 5; ++j) {
        CHECK(y[5 + j] == 0.0f);
        CHECK(log_y[5 + j] == -infinity);
    }

    Tensor<float> mask = Tensor<float>::zeros({4, 6});
    for (std::int64_t j = 0; j < 6; ++j) mask.data()[2 * 6 + j] = -infinity; // query 2 sees nothing
    compare_with_cpu<float>(
        {uniform<float>({1, 2, 4, 8}, 5), uniform<float>({1, 2, 6, 8}, 6), uniform<float>({1, 2, 6, 8}, 7)},
        [&](const Inputs& in) {
            return ops::scaled_dot_product_attention(in[0], in[1], in[2], mask.to(in[0].device()));
        });
}
