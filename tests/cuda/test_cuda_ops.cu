// Every op with a CUDA kernel against the CPU, forward and backward, including broadcast and
// strided (transposed, narrowed) inputs.
#include "compare.hpp"

#include <clipft/autocast.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using namespace clipft::testing;
using Inputs = std::vector<Tensor<float>>;

TEST_CASE("tensors move between host and device and keep their values") {
    Tensor<float> host = uniform<float>({3, 4}, 1);
    Tensor<float> device = host.to(gpu);
    CHECK(device.device() == gpu);
    CHECK(device.to_vector() == host.to_vector());
    CHECK(device.transpose(0, 1).contiguous().to_vector() == host.transpose(0, 1).contiguous().to_vector());
    CHECK(device.narrow(1, 1, 2).clone().to_vector() == host.narrow(1, 1, 2).clone().to_vector());
    CHECK(device.at({2, 3}) == host.at({2, 3}));
    CHECK(Tensor<float>::full({5}, 2.5f, gpu).to_vector() == std::vector<float>(5, 2.5f));
    // Conversions to the 16-bit types round like the CPU's.
    std::vector<BFloat16> bf16_device = device.to<BFloat16>().to_vector(), bf16_host = host.to<BFloat16>().to_vector();
    std::vector<Half> half_device = device.to<Half>().to_vector(), half_host = host.to<Half>().to_vector();
    for (std::size_t i = 0; i < bf16_host.size(); ++i) {
        CHECK(bf16_device[i].bits == bf16_host[i].bits);
        CHECK(half_device[i].bits == half_host[i].bits);
    }
    Tensor<float> back = Tensor<float>::zeros({3, 4}, gpu);
    back.copy_(host); // from the host into device memory
    CHECK(back.to_vector() == host.to_vector());
}

TEST_CASE("the device allocator reuses freed blocks and counts the peak") {
    backend::cuda::synchronize();
    backend::cuda::reset_peak_memory(gpu);
    auto before = backend::cuda::memory_statistics(gpu);
    const float* first = nullptr;
    {
        Tensor<float> t = Tensor<float>::empty({1 << 20}, gpu); // 4 MiB
        first = t.data();
    }
    Tensor<float> again = Tensor<float>::empty({1 << 20}, gpu);
    CHECK(again.data() == first);
    auto after = backend::cuda::memory_statistics(gpu);
    CHECK(after.peak_allocated - before.allocated == (4u << 20));
    CHECK(after.raw_allocations <= before.raw_allocations + 1);
}

TEST_CASE("element-wise binary ops with broadcasting and strided operands") {
    Tensor<float> a = uniform<float>({4, 3, 5}, 2), b = uniform<float>({3, 1}, 3, 0.5, 2.0);
    Tensor<float> c = uniform<float>({5, 3}, 4, 0.5, 2.0);
    compare_with_cpu<float>({a, b}, [](const Inputs& x) { return x[0] + x[1]; });
    compare_with_cpu<float>({a, b}, [](const Inputs& x) { return x[0] - x[1]; });
    compare_with_cpu<float>({a, b}, [](const Inputs& x) { return x[0] * x[1]; });
    compare_with_cpu<float>({a, b}, [](const Inputs& x) { return x[0] / x[1]; });
    compare_with_cpu<float>({a, c}, [](const Inputs& x) { return x[0] * x[1].transpose(0, 1); });
    compare_with_cpu<float>({a}, [](const Inputs& x) { return 2.0f * x[0] - 1.0f; });
}

TEST_CASE("element-wise unary ops and activations") {
    Tensor<float> x = uniform<float>({7, 33}, 5, -3, 3), positive = uniform<float>({7, 33}, 6, 0.1, 3);
    auto check = [&](const Tensor<float>& input, Tensor<float> (*f)(const Tensor<float>&)) {
        compare_with_cpu<float>({input}, [f](const Inputs& in) { return f(in[0]); });
    };
    check(x, ops::neg<float>);
    check(x, ops::exp<float>);
    check(positive, ops::log<float>);
    check(positive, ops::sqrt<float>);
    check(x, ops::tanh<float>);
    check(x, ops::sigmoid<float>);
    check(x, ops::relu<float>);
    check(x, ops::gelu<float>);
    check(x, ops::gelu_tanh<float>);
    check(x, ops::quick_gelu<float>);
    compare_with_cpu<float>({positive}, [](const Inputs& in) { return ops::pow(in[0], 1.5); });
}

TEST_CASE("sum and mean over rows, columns, middle axes and everything") {
    Tensor<float> x = uniform<float>({6, 5, 300}, 7);
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::sum(in[0]); }, {1e-4, 1e-3});
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::sum(in[0], {-1}); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::sum(in[0], {0}, true); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::sum(in[0], {1}); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::mean(in[0], {0, 2}); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::sum(in[0].transpose(0, 2), {0}); });
}

TEST_CASE("softmax and log_softmax along the last and a middle axis") {
    Tensor<float> x = uniform<float>({4, 9, 300}, 8, -5, 5);
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::softmax(in[0]); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::softmax(in[0], 1); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::log_softmax(in[0]); });
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::log_softmax(in[0], 0); });
}

TEST_CASE("layer_norm with and without affine parameters") {
    Tensor<float> x = uniform<float>({3, 17, 768}, 9, -2, 4), w = uniform<float>({768}, 10),
                  b = uniform<float>({768}, 11);
    compare_with_cpu<float>({x, w, b}, [](const Inputs& in) { return ops::layer_norm(in[0], in[1], in[2]); },
                            {1e-4, 1e-4});
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::layer_norm(in[0]); }, {1e-4, 1e-4});
}

TEST_CASE("matmul (batched, broadcast, transposed operands) and linear") {
    Tensor<float> a = uniform<float>({2, 3, 17, 40}, 12), b = uniform<float>({3, 40, 9}, 13);
    Tensor<float> shared = uniform<float>({40, 9}, 14);
    compare_with_cpu<float>({a, b}, [](const Inputs& in) { return ops::matmul(in[0], in[1]); });
    compare_with_cpu<float>({a, shared}, [](const Inputs& in) { return ops::matmul(in[0], in[1]); });
    compare_with_cpu<float>(
        {a, b}, [](const Inputs& in) { return ops::matmul(in[1].transpose(-1, -2), in[0].transpose(-1, -2)); });
    Tensor<float> x = uniform<float>({4, 7, 64}, 15), w = uniform<float>({32, 64}, 16), bias = uniform<float>({32}, 17);
    compare_with_cpu<float>({x, w, bias}, [](const Inputs& in) { return ops::linear(in[0], in[1], in[2]); });
    compare_with_cpu<float>({x, w}, [](const Inputs& in) { return ops::linear(in[0], in[1]); });
    compare_with_cpu<float>(
        {x, w}, [](const Inputs& in) { return ops::linear(in[0].narrow(2, 0, 32), in[1].narrow(1, 0, 32)); });
}

TEST_CASE("embedding with repeated ids, select_positions, argmax and concat") {
    Tensor<float> table = uniform<float>({50, 24}, 18);
    std::vector<std::int64_t> id_values{3, 7, 3, 49, 0, 7, 7, 12};
    compare_with_cpu<float>({table}, [&](const Inputs& in) {
        return ops::embedding(Tensor<std::int64_t>::from_vector(id_values, {2, 4}).to(in[0].device()), in[0]);
    });
    Tensor<float> tokens = uniform<float>({3, 6, 8}, 19);
    compare_with_cpu<float>({tokens}, [](const Inputs& in) {
        auto ids = Tensor<std::int64_t>::from_vector({1, 5, 2, 0, 0, 9, 4, 4, 3, 8, 1, 1, 2, 2, 2, 2, 2, 2}, {3, 6});
        return ops::select_positions(in[0], ops::argmax(ids.to(in[0].device()), -1));
    });
    compare_with_cpu<float>({tokens, table}, [](const Inputs& in) {
        return ops::concat(std::vector<Tensor<float>>{in[0].flatten(), in[1].flatten()}, 0);
    });
}

TEST_CASE("cross_entropy with every reduction and with class weights") {
    Tensor<float> logits = uniform<float>({6, 5}, 20, -3, 3), weights = uniform<float>({5}, 21, 0.5, 2);
    auto targets = [](Device device) { return Tensor<std::int64_t>::from_vector({0, 4, 2, 2, 1, 3}).to(device); };
    for (auto reduction : {ops::Reduction::mean, ops::Reduction::sum, ops::Reduction::none}) {
        compare_with_cpu<float>(
            {logits}, [&](const Inputs& in) { return ops::cross_entropy(in[0], targets(in[0].device()), reduction); });
        compare_with_cpu<float>({logits}, [&](const Inputs& in) {
            return ops::cross_entropy(in[0], targets(in[0].device()), weights.to(in[0].device()), reduction);
        });
    }
}

TEST_CASE("fused attention against the CPU's, with a causal mask and strided q, k, v") {
    for (std::int64_t head_dim : {16, 64, 80}) {
        CAPTURE(head_dim);
        // q, k, v as CLIP takes them: selected from one [3, B, H, L, D] projection, permuted.
        Tensor<float> qkv = uniform<float>({2, 77, 3, 4, head_dim}, 22);
        compare_with_cpu<float>({qkv},
                                [](const Inputs& in) {
                                    Tensor<float> x = in[0].permute({2, 0, 3, 1, 4});
                                    Tensor<float> mask = ops::causal_mask<float>(77).to(in[0].device());
                                    return ops::scaled_dot_product_attention(x.select(0, 0), x.select(0, 1),
                                                                             x.select(0, 2), mask);
                                },
                                {1e-4, 1e-5});
    }
    Tensor<float> q = uniform<float>({1, 2, 257, 64}, 23), k = uniform<float>({1, 2, 100, 64}, 24),
                  v = uniform<float>({1, 2, 100, 32}, 25);
    compare_with_cpu<float>(
        {q, k, v},
        [](const Inputs& in) { return ops::scaled_dot_product_attention(in[0], in[1], in[2], Tensor<float>(), 0.3); },
        {1e-4, 1e-5});
}

TEST_CASE("l2_normalize and conv2d patch embedding") {
    Tensor<float> x = uniform<float>({5, 12}, 26);
    x.narrow(0, 2, 1).fill_(0.0f); // a zero row: the eps branch
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::l2_normalize(in[0]); });
    Tensor<float> images = uniform<float>({2, 3, 32, 32}, 27), kernel = uniform<float>({8, 3, 8, 8}, 28);
    compare_with_cpu<float>({images, kernel},
                            [](const Inputs& in) { return ops::conv2d(in[0], in[1], Tensor<float>(), 8); });
}

TEST_CASE("products under bf16 and fp16 autocast: 16-bit operands, float accumulation") {
    Tensor<float> a = uniform<float>({3, 40, 64}, 29), b = uniform<float>({64, 24}, 30);
    Tensor<float> exact = ops::matmul(a, b);
    // The reference: the operands rounded to the 16-bit type on the host, multiplied in float.
    Tensor<float> rounded_bf16 = ops::matmul(a.to<BFloat16>().to<float>(), b.to<BFloat16>().to<float>());
    Tensor<float> rounded_fp16 = ops::matmul(a.to<Half>().to<float>(), b.to<Half>().to<float>());
    Tensor<float> on_gpu_bf16, on_gpu_fp16;
    {
        AutocastGuard autocast(Precision::bfloat16);
        on_gpu_bf16 = ops::matmul(a.to(gpu), b.to(gpu));
    }
    {
        AutocastGuard autocast(Precision::float16);
        on_gpu_fp16 = ops::matmul(a.to(gpu), b.to(gpu));
    }
    CHECK(excess(on_gpu_bf16, rounded_bf16, 1e-5) <= 1e-4);
    CHECK(excess(on_gpu_fp16, rounded_fp16, 1e-5) <= 1e-4);
    CHECK(excess(on_gpu_bf16, exact, 0) > 1e-4); // bf16 rounding shows: the product really ran in 16 bits
}

TEST_CASE("max through the host and dropout with the CPU's mask") {
    Tensor<float> x = uniform<float>({5, 7}, 31);
    compare_with_cpu<float>({x}, [](const Inputs& in) { return ops::max(in[0], 1); });
    compare_with_cpu<float>({x}, [](const Inputs& in) {
        Generator generator(7); // the same seed on both devices: the same mask
        return ops::dropout(in[0], 0.3, generator);
    });
}
