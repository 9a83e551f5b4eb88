// clipft demo: the built-in default job.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

extern "C" char* openblas_get_corename(void);

namespace clipft::cli {

namespace {

// Two interleaved spirals: a small classification task that a linear model cannot solve.
void make_spirals(std::int64_t count, Generator& generator, Tensor<float>& points,
                  Tensor<std::int64_t>& labels) {
    points = Tensor<float>::empty({count, 2});
    labels = Tensor<std::int64_t>::empty({count});
    for (std::int64_t i = 0; i < count; ++i) {
        std::int64_t label = i % 2;
        double t = 0.5 + 3.0 * generator.uniform();
        double angle = 2.2 * t + label * M_PI;
        points.data()[2 * i] = float(t * std::cos(angle) / 3.5 + 0.05 * generator.normal());
        points.data()[2 * i + 1] = float(t * std::sin(angle) / 3.5 + 0.05 * generator.normal());
        labels.data()[i] = label;
    }
}

} // namespace

int demo(const Options& options) {
    const long epochs = options.integer("epochs"), hidden = options.integer("hidden");
    if (epochs < 1 || hidden < 1) throw UsageError("--epochs and --hidden must be at least 1");
    Generator generator(std::uint64_t(options.integer("seed")));

    Tensor<float> train_points, test_points;
    Tensor<std::int64_t> train_labels, test_labels;
    make_spirals(2000, generator, train_points, train_labels);
    make_spirals(1000, generator, test_points, test_labels);

    std::vector<Tensor<float>> parameters = {
        trunc_normal<float>({hidden, 2}, generator, 0.0, 1.0 / std::sqrt(2.0)), Tensor<float>::zeros({hidden}),
        trunc_normal<float>({hidden, hidden}, generator, 0.0, 1.0 / std::sqrt(double(hidden))), Tensor<float>::zeros({hidden}),
        trunc_normal<float>({2, hidden}, generator, 0.0, 1.0 / std::sqrt(double(hidden))), Tensor<float>::zeros({2})};
    for (auto& parameter : parameters) parameter.requires_grad_();
    auto network = [&](const Tensor<float>& x) {
        Tensor<float> h = quick_gelu(linear(x, parameters[0], parameters[1]));
        h = quick_gelu(linear(h, parameters[2], parameters[3]));
        return linear(h, parameters[4], parameters[5]);
    };
    auto accuracy = [&](const Tensor<float>& points, const Tensor<std::int64_t>& labels) {
        NoGradGuard no_grad;
        Tensor<float> logits = network(points);
        std::int64_t correct = 0;
        for (std::int64_t i = 0; i < labels.numel(); ++i)
            correct += (logits.at({i, 1}) > logits.at({i, 0})) == (labels.data()[i] == 1);
        return double(correct) / double(labels.numel());
    };

    std::cout << "clipft demo: 2-spiral classification, " << train_labels.numel() << " training points, "
              << num_threads() << " threads, BLAS core " << openblas_get_corename() << "\n";
    const std::int64_t batch = 100;
    const float learning_rate = 0.5f;
    auto start = std::chrono::steady_clock::now();
    for (long epoch = 1; epoch <= epochs; ++epoch) {
        double total = 0;
        for (std::int64_t first = 0; first < train_labels.numel(); first += batch) {
            Tensor<float> loss = cross_entropy(network(train_points.narrow(0, first, batch)),
                                               train_labels.narrow(0, first, batch).contiguous());
            loss.backward();
            total += loss.item();
            NoGradGuard no_grad;
            for (auto& parameter : parameters) {
                parameter.copy_(parameter - parameter.grad() * learning_rate);
                parameter.zero_grad();
            }
        }
        if (epoch == 1 || epoch % 10 == 0 || epoch == epochs)
            std::printf("epoch %3ld  loss %.4f  train accuracy %.3f\n", epoch,
                        total / double(train_labels.numel() / batch), accuracy(train_points, train_labels));
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("held-out accuracy %.3f after %ld epochs (%.2f s)\n", accuracy(test_points, test_labels), epochs, seconds);
    return 0;
}

int info(const Options&) {
    std::cout << "{\"version\": \"0.1.0\", \"threads\": " << clipft::num_threads() << ", \"blas_core\": \""
              << openblas_get_corename() << "\"}\n";
    return 0;
}

} // namespace clipft::cli
