// clipft's matrix products against raw cblas_sgemm on the same OpenBLAS, at the GEMM shapes of a
// CLIP fine-tuning step: (M, N, K) = (400, 2304, 768) the fused qkv projection of ViT-B/32 tokens,
// (400, 768, 3072) the MLP's c_proj, (514, 4096, 1024) ViT-L/14's c_fc. Each clipft product is
// measured against the raw call with the same operand layout:
//   sgemm_nn  vs matmul     a [M, K] @ b [K, N], a fresh output per call as a user gets it
//   sgemm_nt  vs linear     x [M, K] W^T with W [N, K] (PyTorch's weight layout), no bias
//   sgemm_tn  vs matmul_at  a^T @ b with a stored [K, M]: a transposed view, read by BLAS as a flag
// The raw calls write into preallocated buffers, so the gap is clipft's whole overhead (shape
// checks, output allocation, the graph bookkeeping it skips for tensors without gradients).
#include <clipft/clip.hpp>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>
#include <vector>

namespace {

using Tensor = clipft::Tensor<float>;

struct Size {
    std::int64_t m, n, k;
};

constexpr Size sizes[] = {{400, 2304, 768}, {400, 768, 3072}, {514, 4096, 1024}};

Tensor random_tensor(const clipft::Shape& shape, std::uint64_t seed) {
    clipft::Generator generator(seed);
    return clipft::uniform<float>(shape, generator, -1.0, 1.0);
}

void report_flops(benchmark::State& state, const Size& s) {
    state.counters["GFLOP"] = benchmark::Counter(2e-9 * double(s.m) * double(s.n) * double(s.k),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Raw row-major sgemm; a_transposed / b_transposed say how the operands are stored. OpenBLAS runs
// on its own threads here, as many as clipft's pool (which otherwise keeps OpenBLAS single-threaded
// and splits each product itself).
void raw_sgemm(benchmark::State& state, Size s, bool a_transposed, bool b_transposed) {
    openblas_set_num_threads(clipft::num_threads());
    Tensor a = random_tensor(a_transposed ? clipft::Shape{s.k, s.m} : clipft::Shape{s.m, s.k}, 1);
    Tensor b = random_tensor(b_transposed ? clipft::Shape{s.n, s.k} : clipft::Shape{s.k, s.n}, 2);
    Tensor c = Tensor::zeros({s.m, s.n});
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, a_transposed ? CblasTrans : CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans,
                    int(s.m), int(s.n), int(s.k), 1.0f, a.data(), int(a.size(1)), b.data(), int(b.size(1)), 0.0f,
                    c.data(), int(s.n));
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    openblas_set_num_threads(1);
    report_flops(state, s);
}

void clipft_matmul(benchmark::State& state, Size s) {
    Tensor a = random_tensor({s.m, s.k}, 1), b = random_tensor({s.k, s.n}, 2);
    for (auto _ : state) benchmark::DoNotOptimize(clipft::matmul(a, b).data());
    report_flops(state, s);
}

void clipft_linear(benchmark::State& state, Size s) {
    Tensor x = random_tensor({s.m, s.k}, 1), weight = random_tensor({s.n, s.k}, 2);
    for (auto _ : state) benchmark::DoNotOptimize(clipft::linear(x, weight, {}).data());
    report_flops(state, s);
}

void clipft_matmul_transposed(benchmark::State& state, Size s) {
    Tensor a_stored = random_tensor({s.k, s.m}, 1), b = random_tensor({s.k, s.n}, 2);
    Tensor a = a_stored.transpose(0, 1); // [M, K] view, not contiguous
    for (auto _ : state) benchmark::DoNotOptimize(clipft::matmul(a, b).data());
    report_flops(state, s);
}

} // namespace

int main(int argc, char** argv) {
    // The first pool use sets OpenBLAS single-threaded; raw_sgemm gives it the pool's thread count.
    int threads = clipft::num_threads();
    benchmark::AddCustomContext("clipft_threads", std::to_string(threads));
    benchmark::AddCustomContext("openblas_config", openblas_get_config());
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
    benchmark::AddCustomContext("openblas_threads", std::to_string(threads)); // of the raw calls

    for (const Size& s : sizes) {
        std::string shape = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
        auto add = [&](const std::string& name, auto function, auto... args) {
            benchmark::RegisterBenchmark((name + "/" + shape).c_str(), function, s, args...)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        };
        add("sgemm_nn", raw_sgemm, false, false);
        add("matmul", clipft_matmul);
        add("sgemm_nt", raw_sgemm, false, true);
        add("linear", clipft_linear);
        add("sgemm_tn", raw_sgemm, true, false);
        add("matmul_at", clipft_matmul_transposed);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
