#pragma once
// Test helpers: gradients by central finite differences in double precision, compared with what
// backward() computes.
#include <clipft/nn/module.hpp>
#include <clipft/ops.hpp>
#include <clipft/print.hpp>
#include <clipft/random.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

// The tests call ops unqualified, as programs that include clipft/clip.hpp do.
namespace clipft {
using namespace ops;
}

namespace clipft::testing {

using Function = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;

// A tensor of the given shape with values drawn uniformly from [low, high), seeded.
inline Tensor<double> random_tensor(const Shape& shape, unsigned seed, double low = -1.0, double high = 1.0) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> distribution(low, high);
    Tensor<double> t = Tensor<double>::empty(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = distribution(engine);
    return t;
}

// Checks d(sum(w * f(inputs)))/d(inputs) from backward() against central differences, with w a fixed
// random weighting so that every output element matters. Inputs must be leaves; they are given
// requires_grad here. Returns the largest absolute difference found.
inline double check_gradients(const Function& f, std::vector<Tensor<double>> inputs, double tolerance = 1e-6,
                              double step = 1e-6) {
    for (auto& input : inputs) {
        input.zero_grad();
        input.requires_grad_(true);
    }
    Tensor<double> output = f(inputs);
    Tensor<double> weights = random_tensor(output.shape(), 1234);
    auto objective = [&] {
        NoGradGuard no_grad;
        Tensor<double> out = f(inputs).contiguous();
        double total = 0;
        for (std::int64_t i = 0; i < out.numel(); ++i) total += out.data()[i] * weights.contiguous().data()[i];
        return total;
    };
    ops::sum(ops::mul(output, weights)).backward();
    double worst = 0;
    for (std::size_t n = 0; n < inputs.size(); ++n) {
        Tensor<double> analytic = inputs[n].grad();
        REQUIRE_MESSAGE(analytic.defined(), "input ", n, " received no gradient");
        REQUIRE(analytic.shape() == inputs[n].shape());
        Tensor<double> dense = analytic.contiguous();
        for (std::int64_t i = 0; i < inputs[n].numel(); ++i) {
            double& x = inputs[n].data()[i]; // inputs are contiguous leaves
            double saved = x;
            x = saved + step;
            double up = objective();
            x = saved - step;
            double down = objective();
            x = saved;
            double numeric = (up - down) / (2 * step);
            double difference = std::abs(numeric - dense.data()[i]);
            worst = std::max(worst, difference);
            CHECK_MESSAGE(difference <= tolerance * std::max(1.0, std::abs(numeric)), "input ", n, " element ", i,
                          ": numeric ", numeric, " vs backward ", dense.data()[i]);
        }
    }
    return worst;
}

// Every parameter of `module` drawn uniformly from [-scale, scale), one seed per parameter from `seed` on.
template <Floating T> void randomize_parameters(nn::Module<T>& module, unsigned seed, double scale) {
    NoGradGuard no_grad;
    for (auto& [name, parameter] : module.named_parameters())
        parameter.copy_(random_tensor(parameter.shape(), seed++, -scale, scale).template to<T>());
}

// Every trainable parameter's gradient after objective().backward() from cleared gradients, by name.
template <Floating T>
std::map<std::string, Tensor<T>> parameter_gradients(nn::Module<T>& module,
                                                     const std::function<Tensor<T>()>& objective) {
    module.zero_grad();
    objective().backward();
    std::map<std::string, Tensor<T>> result;
    for (auto& [name, parameter] : module.named_parameters())
        if (parameter.requires_grad()) result[name] = parameter.grad();
    return result;
}

} // namespace clipft::testing
