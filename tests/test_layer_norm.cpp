// layer_norm: values against the textbook formula, accuracy, gradients, parameter sums over many
// rows (threaded), bad shapes.
#include "gradcheck.hpp"

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

// (x - mean) / sqrt(var + eps) * w + b over the last axis, var biased, by two plain passes.
std::vector<double> reference_layer_norm(const std::vector<double>& x, std::int64_t n, const std::vector<double>& w,
                                         const std::vector<double>& b, double eps) {
    std::vector<double> y(x.size());
    for (std::size_t start = 0; start < x.size(); start += std::size_t(n)) {
        double mean = 0, variance = 0;
        for (std::int64_t j = 0; j < n; ++j) mean += x[start + j] / double(n);
        for (std::int64_t j = 0; j < n; ++j) variance += (x[start + j] - mean) * (x[start + j] - mean) / double(n);
        for (std::int64_t j = 0; j < n; ++j)
            y[start + j] =
                (x[start + j] - mean) / std::sqrt(variance + eps) * (w.empty() ? 1.0 : w[j]) + (b.empty() ? 0.0 : b[j]);
    }
    return y;
}

} // namespace

TEST_CASE("layer_norm matches the formula with and without affine parameters, in float and double") {
    Tensor<double> x = random_tensor({2, 3, 37}, 21, -3, 5);
    Tensor<double> w = random_tensor({37}, 22), b = random_tensor({37}, 23);
    std::vector<double> affine = reference_layer_norm(x.to_vector(), 37, w.to_vector(), b.to_vector(), 1e-5);
    std::vector<double> plain = reference_layer_norm(x.to_vector(), 37, {}, {}, 1e-5);
    std::vector<double> y = layer_norm(x, w, b).to_vector();
    std::vector<double> y_plain = layer_norm(x).to_vector();
    std::vector<float> y32 = layer_norm(x.to<float>(), w.to<float>(), b.to<float>()).to_vector();
    for (std::size_t i = 0; i < y.size(); ++i) {
        CHECK(y[i] == doctest::Approx(affine[i]).epsilon(1e-12));
        CHECK(y_plain[i] == doctest::Approx(plain[i]).epsilon(1e-12));
        CHECK(y32[i] == doctest::Approx(affine[i]).epsilon(1e-4));
    }
    CHECK(layer_norm(x, w, b).shape() == Shape{2, 3, 37});
}

TEST_CASE("layer_norm keeps float accuracy when the mean is large against the spread") {
    Tensor<double> x = random_tensor({3, 64}, 24, 10000, 10001);
    std::vector<double> expected = reference_layer_norm(x.to<float>().to<double>().to_vector(), 64, {}, {}, 1e-5);
    std::vector<float> y = layer_norm(x.to<float>()).to_vector();
    // A float mean near 1e4 is only good to about 5e-4 (half an ulp), which bounds the error of
    // x - mean; a variance taken as E[x^2] - E[x]^2 in float would be off by whole units.
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(std::abs(y[i] - expected[i]) < 5e-3);
}

TEST_CASE("layer_norm of a constant row is zero plus the bias") {
    Tensor<float> x = Tensor<float>::full({2, 4}, 3.0f);
    Tensor<float> b = Tensor<float>::from_vector({1, 2, 3, 4});
    CHECK(layer_norm(x, Tensor<float>(), b).to_vector() == std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4});
}

TEST_CASE("layer_norm gradients: 2-D and 3-D, with and without affine, weight only, transposed input") {
    check_gradients([](const auto& in) { return layer_norm(in[0], in[1], in[2]); },
                    {random_tensor({3, 37}, 31), random_tensor({37}, 32), random_tensor({37}, 33)});
    check_gradients([](const auto& in) { return layer_norm(in[0], in[1], in[2]); },
                    {random_tensor({2, 3, 5}, 34), random_tensor({5}, 35), random_tensor({5}, 36)});
    check_gradients([](const auto& in) { return layer_norm(in[0]); }, {random_tensor({2, 3, 5}, 37)});
    check_gradients([](const auto& in) { return layer_norm(in[0], in[1]); },
                    {random_tensor({4, 6}, 38), random_tensor({6}, 39)});
    check_gradients([](const auto& in) { return layer_norm(in[0].transpose(0, 1), in[1], in[2], 1e-3); },
                    {random_tensor({6, 4}, 40), random_tensor({6}, 41), random_tensor({6}, 42)});
}

TEST_CASE("layer_norm parameter gradients over many rows are the sums of g * xhat and g") {
    const std::int64_t rows = 4096, n = 8; // enough rows for one chunk per thread
    Tensor<double> x = random_tensor({rows, n}, 43, -2, 2), g = random_tensor({rows, n}, 44);
    Tensor<double> w = random_tensor({n}, 45), b = random_tensor({n}, 46);
    std::vector<double> xhat = reference_layer_norm(x.to_vector(), n, {}, {}, 1e-5);
    std::vector<double> dweight(n, 0.0), dbias(n, 0.0);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < n; ++j) {
            dweight[j] += g.data()[r * n + j] * xhat[r * n + j];
            dbias[j] += g.data()[r * n + j];
        }
    Tensor<float> x32 = x.to<float>(), w32 = w.to<float>(), b32 = b.to<float>();
    w32.requires_grad_();
    b32.requires_grad_();
    layer_norm(x32, w32, b32).backward(g.to<float>());
    CHECK_FALSE(x32.grad().defined());
    for (std::int64_t j = 0; j < n; ++j) {
        CHECK(w32.grad().data()[j] == doctest::Approx(dweight[j]).epsilon(1e-4));
        CHECK(b32.grad().data()[j] == doctest::Approx(dbias[j]).epsilon(1e-4));
    }
}

TEST_CASE("layer_norm rejects parameters that do not match the last axis, naming the shapes") {
    Tensor<float> x = Tensor<float>::zeros({2, 5});
    CHECK_THROWS_WITH_AS(
        layer_norm(x, Tensor<float>::ones({4}), Tensor<float>::zeros({5})),
        "layer_norm: weight of shape [4] does not match the input of shape [2, 5]; it must have shape [5], "
        "the size of the normalised last axis",
        Error);
    CHECK_THROWS_WITH_AS(layer_norm(x, Tensor<float>::ones({5}), Tensor<float>::zeros({1, 5})),
                         doctest::Contains("layer_norm: bias of shape [1, 5] does not match the input of shape [2, 5]"),
                         Error);
    CHECK_THROWS_WITH_AS(layer_norm(Tensor<float>::scalar(1.0f)),
                         doctest::Contains("layer_norm: the input must have at least one axis"), Error);
}
