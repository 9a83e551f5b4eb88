#pragma once
// Multinomial logistic regression on fixed features with scikit-learn's objective for
// LogisticRegression(multi_class="multinomial", C=C):
//     f(W, b) = C * sum_i CE(softmax(W x_i + b), y_i) + 1/2 ||W||_F^2      (b not penalised)
// minimised in double precision by L-BFGS to a tight tolerance (scikit-learn's own default stops
// after 100 iterations; here the optimum itself). The objective is strictly convex in W, so the
// fitted probabilities do not depend on the start; the biases are shift-invariant and returned
// centred (summing to 0), as scikit-learn's solver leaves them. Deterministic: the rows are summed in
// fixed blocks, in a fixed order, whatever the number of threads.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/error.hpp>
#include <clipft/heads/linear_probe.hpp>
#include <clipft/optim/lbfgs.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

// The objective above over parameters theta = [W row-major (K x D), b (K)].
class LogisticObjective {
public:
    LogisticObjective(const Tensor<float>& features, std::vector<std::int64_t> labels, std::int64_t classes, double C)
        : features_(feature_matrix(features, -1, "logistic regression")), labels_(std::move(labels)), classes_(classes),
          C_(C) {
        const std::int64_t n = features_.size(0);
        if (n == 0) fail("logistic regression: no training features");
        if (std::int64_t(labels_.size()) != n)
            fail("logistic regression: ", labels_.size(), " labels for ", n, " feature rows");
        if (classes < 2) fail("logistic regression: needs at least 2 classes, got ", classes);
        if (!(C > 0) || !std::isfinite(C)) fail("logistic regression: C must be a positive number, got ", C);
        for (std::size_t i = 0; i < labels_.size(); ++i)
            if (labels_[i] < 0 || labels_[i] >= classes)
                fail("logistic regression: label ", labels_[i], " of row ", i, " is outside 0..", classes - 1);
        for (std::int64_t i = 0; i < features_.numel(); ++i)
            if (!std::isfinite(features_.data()[i]))
                fail("logistic regression: feature row ", i / width(), " holds a non-finite value");
    }

    std::int64_t width() const { return features_.size(1); }
    std::int64_t classes() const { return classes_; }
    std::size_t parameter_count() const { return std::size_t(classes_ * (width() + 1)); }

    double operator()(const std::vector<double>& theta, std::vector<double>& gradient) const {
        const std::int64_t n = features_.size(0), d = width(), k = classes_;
        const std::int64_t blocks = (n + block_rows - 1) / block_rows;
        const std::size_t size = parameter_count();
        std::vector<double> partial_gradients(std::size_t(blocks) * size, 0.0),
            partial_losses(std::size_t(blocks), 0.0);
        backend::parallel_for(blocks, 1, [&](std::int64_t first, std::int64_t last) {
            std::vector<double> z(std::size_t(k), 0.0);
            for (std::int64_t block = first; block < last; ++block) {
                double* g = partial_gradients.data() + std::size_t(block) * size;
                double loss = 0;
                for (std::int64_t i = block * block_rows; i < std::min(n, (block + 1) * block_rows); ++i) {
                    const float* x = features_.data() + i * d;
                    double largest = -INFINITY;
                    for (std::int64_t c = 0; c < k; ++c) {
                        const double* w = theta.data() + c * d;
                        double sum = theta[std::size_t(k * d + c)];
                        for (std::int64_t j = 0; j < d; ++j) sum += w[j] * double(x[j]);
                        z[std::size_t(c)] = sum;
                        largest = std::max(largest, sum);
                    }
                    double normaliser = 0;
                    for (double value : z) normaliser += std::exp(value - largest);
                    const std::int64_t y = labels_[std::size_t(i)];
                    loss += largest + std::log(normaliser) - z[std::size_t(y)];
                    for (std::int64_t c = 0; c < k; ++c) {
                        double residual = std::exp(z[std::size_t(c)] - largest) / normaliser - double(c == y);
                        double* gw = g + c * d;
                        for (std::int64_t j = 0; j < d; ++j) gw[j] += residual * double(x[j]);
                        g[k * d + c] += residual;
                    }
                }
                partial_losses[std::size_t(block)] = loss;
            }
        });
        gradient.assign(size, 0.0);
        double loss = 0;
        for (std::int64_t block = 0; block < blocks; ++block) {
            loss += partial_losses[std::size_t(block)];
            const double* g = partial_gradients.data() + std::size_t(block) * size;
            for (std::size_t p = 0; p < size; ++p) gradient[p] += g[p];
        }
        double penalty = 0;
        for (std::size_t p = 0; p < size; ++p) gradient[p] *= C_;
        for (std::size_t p = 0; p < std::size_t(k * d); ++p) penalty += theta[p] * theta[p], gradient[p] += theta[p];
        return C_ * loss + 0.5 * penalty;
    }

private:
    static constexpr std::int64_t block_rows = 256;
    Tensor<float> features_;
    std::vector<std::int64_t> labels_;
    std::int64_t classes_;
    double C_;
};

struct LogisticRegressionOptions {
    double C = 1.0;
    optim::LbfgsOptions solver{};
    std::optional<LinearProbe> initial{}; // the start (e.g. LinearProbe::zero_shot); zeros without
};

struct LogisticRegressionFit {
    LinearProbe probe;
    double objective = 0;
    std::int64_t iterations = 0;
    bool converged = false;
};

inline LogisticRegressionFit fit_logistic_regression(const Tensor<float>& features,
                                                     const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                     const LogisticRegressionOptions& options = {}) {
    LogisticObjective objective(features, labels, classes, options.C);
    const std::int64_t d = objective.width(), k = classes;
    std::vector<double> theta(objective.parameter_count(), 0.0);
    if (options.initial) {
        const LinearProbe& start = *options.initial;
        start.check();
        if (start.classes() != k || start.width() != d)
            fail("logistic regression: the initial head is ", start.weight.shape(), ", the features need [", k, ", ", d,
                 "]");
        std::vector<float> w = start.weight.to_vector(), b = start.bias.to_vector();
        std::copy(w.begin(), w.end(), theta.begin());
        std::copy(b.begin(), b.end(), theta.begin() + k * d);
    }
    optim::LbfgsResult solved = optim::minimize_lbfgs(objective, theta, options.solver);
    double mean_bias = 0;
    for (std::int64_t c = 0; c < k; ++c) mean_bias += theta[std::size_t(k * d + c)] / double(k);
    std::vector<float> weight(theta.begin(), theta.begin() + k * d), bias;
    for (std::int64_t c = 0; c < k; ++c) bias.push_back(float(theta[std::size_t(k * d + c)] - mean_bias));
    return {{Tensor<float>::from_vector(weight, {k, d}), Tensor<float>::from_vector(bias)},
            solved.value,
            solved.iterations,
            solved.converged};
}

} // namespace clipft::heads
