#pragma once
// L-BFGS (Nocedal & Wright, Algorithm 7.4/7.5) in double precision for smooth convex objectives of
// a few thousand variables, such as a linear probe: deterministic (no randomness, fixed order of
// operations), a backtracking line search on the Armijo condition, and curvature pairs kept only
// when s'y > 0 so that the inverse-Hessian estimate stays positive definite.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::optim {

struct LbfgsOptions {
    std::int64_t max_iterations = 10000;
    std::int64_t history = 10;
    // Converged when max |gradient| <= gradient_tolerance * max(1, max |first gradient|) (a relative
    // test, so the result does not depend on the objective's scale), or when an iteration lowers the
    // objective by less than value_tolerance relative to it.
    double gradient_tolerance = 1e-9;
    double value_tolerance = 1e-15;
};

struct LbfgsResult {
    double value = 0;
    std::int64_t iterations = 0;
    bool converged = false;
};

// Minimises `objective`, which returns f(x) and writes its gradient into the second argument, from
// the starting point x (overwritten with the minimiser).
inline LbfgsResult
minimize_lbfgs(const std::function<double(const std::vector<double>&, std::vector<double>&)>& objective,
               std::vector<double>& x, const LbfgsOptions& options = {}) {
    const std::size_t n = x.size();
    auto dot = [n](const std::vector<double>& a, const std::vector<double>& b) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
        return sum;
    };
    auto max_abs = [](const std::vector<double>& v) {
        double largest = 0;
        for (double value : v) largest = std::max(largest, std::abs(value));
        return largest;
    };
    std::vector<double> gradient(n), direction(n), candidate(n), candidate_gradient(n);
    double value = objective(x, gradient);
    if (!std::isfinite(value)) fail("L-BFGS: the objective is not finite at the starting point");
    const double gradient_bar = options.gradient_tolerance * std::max(1.0, max_abs(gradient));
    std::deque<std::vector<double>> steps, changes; // s_k = x_{k+1} - x_k, y_k = g_{k+1} - g_k
    std::deque<double> inverse_curvatures;          // 1 / (y_k' s_k)
    LbfgsResult result;
    for (; result.iterations < options.max_iterations; ++result.iterations) {
        if (max_abs(gradient) <= gradient_bar) {
            result.converged = true;
            break;
        }
        // Two-loop recursion: direction = -H g.
        direction = gradient;
        std::vector<double> alphas(steps.size());
        for (std::size_t j = steps.size(); j-- > 0;) {
            alphas[j] = inverse_curvatures[j] * dot(steps[j], direction);
            for (std::size_t i = 0; i < n; ++i) direction[i] -= alphas[j] * changes[j][i];
        }
        double scale = steps.empty() ? 1.0 / std::max(1.0, std::sqrt(dot(gradient, gradient)))
                                     : 1.0 / (inverse_curvatures.back() * dot(changes.back(), changes.back()));
        for (double& value_i : direction) value_i *= scale;
        for (std::size_t j = 0; j < steps.size(); ++j) {
            double beta = inverse_curvatures[j] * dot(changes[j], direction);
            for (std::size_t i = 0; i < n; ++i) direction[i] += (alphas[j] - beta) * steps[j][i];
        }
        for (double& value_i : direction) value_i = -value_i;
        double slope = dot(gradient, direction);
        if (!(slope < 0)) { // numerical trouble: restart from steepest descent
            steps.clear(), changes.clear(), inverse_curvatures.clear();
            for (std::size_t i = 0; i < n; ++i) direction[i] = -gradient[i];
            slope = -dot(gradient, gradient);
        }
        double step = 1, candidate_value = 0;
        for (int tries = 0;; ++tries) {
            for (std::size_t i = 0; i < n; ++i) candidate[i] = x[i] + step * direction[i];
            candidate_value = objective(candidate, candidate_gradient);
            if (std::isfinite(candidate_value) && candidate_value <= value + 1e-4 * step * slope) break;
            if (tries == 60) { // no decrease left in double precision
                result.converged = max_abs(gradient) <= 1e3 * gradient_bar;
                result.value = value;
                return result;
            }
            step *= 0.5;
        }
        std::vector<double> s(n), y(n);
        for (std::size_t i = 0; i < n; ++i) s[i] = candidate[i] - x[i], y[i] = candidate_gradient[i] - gradient[i];
        double curvature = dot(s, y);
        if (curvature > 1e-12 * std::sqrt(dot(s, s) * dot(y, y))) {
            steps.push_back(std::move(s)), changes.push_back(std::move(y)), inverse_curvatures.push_back(1 / curvature);
            if (std::int64_t(steps.size()) > options.history)
                steps.pop_front(), changes.pop_front(), inverse_curvatures.pop_front();
        }
        double decrease = value - candidate_value;
        std::swap(x, candidate), std::swap(gradient, candidate_gradient), value = candidate_value;
        if (decrease <= options.value_tolerance * std::max(1.0, std::abs(value)) &&
            max_abs(gradient) <= 1e3 * gradient_bar) {
            result.converged = true;
            ++result.iterations;
            break;
        }
    }
    result.value = value;
    return result;
}

} // namespace clipft::optim
