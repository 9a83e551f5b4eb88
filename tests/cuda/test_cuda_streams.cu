// Streams and state that crosses devices: work on a non-default stream, blocks cached per stream,
// and optimizer moments restored on the host for parameters on the GPU.
#include "compare.hpp"

#include <clipft/optim/adamw.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using namespace clipft::testing;

TEST_CASE("ops on a stream of their own give the default stream's results") {
    Tensor<float> a = uniform<float>({64, 33}, 50), b = uniform<float>({33}, 51);
    backend::cuda::Stream stream(0);
    std::vector<float> on_stream;
    {
        backend::cuda::StreamGuard guard(stream);
        CHECK(backend::cuda::current_stream() == stream.handle());
        on_stream = ops::exp(a.to(gpu) + b.to(gpu)).to_vector();
    }
    CHECK(backend::cuda::current_stream() == nullptr);
    std::vector<float> reference = ops::exp(a + b).to_vector();
    REQUIRE(on_stream.size() == reference.size());
    for (std::size_t i = 0; i < reference.size(); ++i)
        CHECK(on_stream[i] == doctest::Approx(reference[i]).epsilon(1e-6));
}

TEST_CASE("a block freed on one stream is reused there and not on another") {
    backend::cuda::Stream first(0), second(0);
    const float* freed = nullptr;
    {
        backend::cuda::StreamGuard guard(first);
        freed = Tensor<float>::empty({12345}, gpu).data();
    }
    {
        backend::cuda::StreamGuard guard(second);
        Tensor<float> elsewhere = Tensor<float>::empty({12345}, gpu);
        CHECK(elsewhere.data() != freed);
    }
    backend::cuda::StreamGuard guard(first);
    CHECK(Tensor<float>::empty({12345}, gpu).data() == freed);
}

TEST_CASE("AdamW moments restored on the host follow their parameters to the GPU") {
    Tensor<float> cpu_parameter = uniform<float>({40}, 52);
    Tensor<float> gpu_parameter = cpu_parameter.detach().to(gpu);
    cpu_parameter.requires_grad_();
    gpu_parameter.requires_grad_();
    optim::AdamWOptions options{.learning_rate = 1e-2, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6};
    optim::AdamW<float> on_cpu({{{{"p", cpu_parameter}}, 0.1}}, options),
        on_gpu({{{{"p", gpu_parameter}}, 0.1}}, options);
    optim::AdamW<float>::Moments saved{uniform<float>({40}, 53), uniform<float>({40}, 54, 0.1, 1.0), 7};
    on_cpu.load_state({{"p", saved}});
    on_gpu.load_state({{"p", {saved.exp_avg.clone(), saved.exp_avg_sq.clone(), saved.step}}});
    Tensor<float> grad = uniform<float>({40}, 55);
    cpu_parameter.accumulate_grad(grad);
    gpu_parameter.accumulate_grad(grad.to(gpu));
    on_cpu.step();
    on_gpu.step();
    CHECK(on_gpu.state().at("p").exp_avg.device() == gpu);
    CHECK(excess(gpu_parameter, cpu_parameter, 1e-6) <= 1e-6);
}
