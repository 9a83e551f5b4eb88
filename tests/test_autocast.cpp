// AutocastGuard: nesting restores the previous precision, and CPU products ignore float16 (they stay
// float32 exactly). The CPU's bfloat16 products are tested in test_bf16.cpp, the 16-bit products on a
// GPU in tests/cuda/.
#include <clipft/autocast.hpp>
#include <clipft/ops.hpp>

#include <doctest/doctest.h>

using namespace clipft;

TEST_CASE("guards nest and restore the precision before them") {
    CHECK(AutocastGuard::precision() == Precision::float32);
    {
        AutocastGuard outer(Precision::bfloat16);
        CHECK(AutocastGuard::precision() == Precision::bfloat16);
        {
            AutocastGuard inner(Precision::float16);
            CHECK(AutocastGuard::precision() == Precision::float16);
        }
        CHECK(AutocastGuard::precision() == Precision::bfloat16);
    }
    CHECK(AutocastGuard::precision() == Precision::float32);
}

TEST_CASE("products on the CPU stay float32 under float16 autocast") {
    // 1 + 2^-12 is exact in float32 and rounds to 1 in float16: a 16-bit product would lose it.
    const float fine = 1.0f + 0x1p-12f;
    auto a = Tensor<float>::full({2, 3}, fine), b = Tensor<float>::full({3, 2}, 1.0f);
    AutocastGuard autocast(Precision::float16);
    auto product = ops::matmul(a, b);
    for (float value : product.to_vector()) CHECK(value == 3 * fine);
}
