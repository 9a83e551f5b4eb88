// Module: parameter registry, buffers, and moving a module between devices with one call.
#include <clipft/nn/module.hpp>
#include <clipft/ops.hpp> // Tensor::accumulate_grad adds with ops::add, defined there

#include <doctest/doctest.h>

using namespace clipft;

namespace {

struct Inner : nn::Module<float> {
    Tensor<float> weight = register_parameter("weight", Tensor<float>::full({2, 2}, 1.5f));
};

struct Outer : nn::Module<float> {
    Inner inner;
    Tensor<float> bias = register_parameter("bias", Tensor<float>::zeros({2}));
    Tensor<float> mask = register_buffer(Tensor<float>::ones({2}));
    Outer() { register_module("inner", inner); }
};

} // namespace

TEST_CASE("parameters are named by their module path and buffers are not parameters") {
    Outer model;
    auto named = model.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "bias");
    CHECK(named[1].first == "inner.weight");
    CHECK(model.parameter_count() == 6);
    CHECK(model.parameter("inner.weight").shares_storage_with(model.inner.weight));
}

TEST_CASE("to(device) moves members, registry and buffers together") {
    Outer model;
    model.inner.weight.accumulate_grad(Tensor<float>::full({2, 2}, 0.25f));
    const float* before = model.inner.weight.data();
    model.to(Device::cpu()); // already there: nothing is copied
    CHECK(model.inner.weight.data() == before);
    CHECK(model.inner.weight.grad().to_vector() == std::vector<float>(4, 0.25f));
#ifndef CLIPFT_WITH_CUDA
    CHECK_THROWS_AS(model.to(Device::cuda(0)), Error);
    CHECK(model.inner.weight.device() == Device::cpu()); // the failed move left the tensor usable
    CHECK(model.inner.weight.to_vector() == std::vector<float>(4, 1.5f));
#endif
}
