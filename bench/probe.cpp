// Fitting a linear probe on frozen ViT-L/14-sized features: multinomial logistic regression
// (heads/logistic_regression.hpp, scikit-learn's objective, L-BFGS in double) on N = 20,000 unit rows
// of D = 768, K = 2 classes, C = 1 (UnivFD's setting) and larger. The goal: under 10 s on 2 cores. The
// features are two overlapping Gaussian clusters, normalised like CLIP embeddings. Counters: the
// L-BFGS iterations and whether it converged; the argument is C. Also kNN (k = 5) scoring 2,000 queries against them.
#include <clipft/clip.hpp>

#include <benchmark/benchmark.h>

namespace {

std::pair<clipft::Tensor<float>, std::vector<std::int64_t>> features(std::int64_t n, std::int64_t d,
                                                                     std::uint64_t seed) {
    clipft::Generator generator(seed);
    clipft::Tensor<float> centres = clipft::randn<float>({2, d}, generator);
    clipft::Tensor<float> x = clipft::Tensor<float>::empty({n, d});
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t label = std::int64_t(generator.uniform_integer(2));
        labels.push_back(label);
        for (std::int64_t j = 0; j < d; ++j)
            x.data()[i * d + j] = centres.data()[label * d + j] + 3.0f * float(generator.normal());
    }
    return {clipft::ops::l2_normalize(x).contiguous(), labels};
}

void logistic_probe(benchmark::State& state) {
    auto [x, labels] = features(20000, 768, 1);
    clipft::heads::LogisticRegressionFit fit;
    const double C = double(state.range(0));
    for (auto _ : state) fit = clipft::heads::fit_logistic_regression(x, labels, 2, {.C = C});
    state.counters["iterations"] = double(fit.iterations);
    state.counters["converged"] = fit.converged;
    state.counters["threads"] = clipft::num_threads();
}

void knn_scoring(benchmark::State& state) {
    auto [x, labels] = features(20000, 768, 1);
    auto [queries, ignored] = features(2000, 768, 2);
    clipft::heads::NearestNeighbors knn{x, labels, 2, 5};
    for (auto _ : state) benchmark::DoNotOptimize(knn.probabilities(queries));
}

} // namespace

// C = 1 (the default and UnivFD's) and the upper end of --C auto's grid, where the fit is stiffest.
BENCHMARK(logistic_probe)->Arg(1)->Arg(100)->Arg(10000)->Unit(benchmark::kSecond)->Iterations(3);
BENCHMARK(knn_scoring)->Unit(benchmark::kSecond)->Iterations(3);
BENCHMARK_MAIN();
