// scaled_dot_product_attention against a plain-loop reference, its gradients, and causal_mask.
#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/nn/layers.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace clipft;
using clipft::testing::check_gradients;
using clipft::testing::random_tensor;
using clipft::testing::infinity;

namespace {

template <typename T> Tensor<T> random_of(const Shape& shape, unsigned seed) {
    return random_tensor(shape, seed).to<T>();
}

// The mask value for scores (b, h, i, j), broadcasting the mask's shape against [B, H, Lq, Lk].
template <typename T>
double mask_at(const Tensor<T>& mask, std::int64_t b, std::int64_t h, std::int64_t i, std::int64_t j) {
    if (!mask.defined()) return 0;
    std::vector<std::int64_t> full{b, h, i, j}, index;
    for (std::int64_t axis = 0; axis < mask.dim(); ++axis)
        index.push_back(mask.size(axis) == 1 ? 0 : full[4 - mask.dim() + axis]);
    return double(mask.at(index));
}

// softmax(scale q k^T + mask) v with plain loops in double; a row with every score -inf gives zeros.
template <typename T>
std::vector<double> naive_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const Tensor<T>& mask,
                                    double scale) {
    std::int64_t batch = q.size(0), heads = q.size(1), lq = q.size(2), d = q.size(3), lk = k.size(2), dv = v.size(3);
    std::vector<double> out;
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t h = 0; h < heads; ++h)
            for (std::int64_t i = 0; i < lq; ++i) {
                std::vector<double> scores(lk);
                double top = -infinity;
                for (std::int64_t j = 0; j < lk; ++j) {
                    double dot = 0;
                    for (std::int64_t e = 0; e < d; ++e) dot += double(q.at({b, h, i, e})) * double(k.at({b, h, j, e}));
                    scores[j] = scale * dot + mask_at(mask, b, h, i, j);
                    top = std::max(top, scores[j]);
                }
                double total = 0;
                for (double& s : scores) total += s = top == -infinity ? 0 : std::exp(s - top);
                for (std::int64_t e = 0; e < dv; ++e) {
                    double value = 0;
                    for (std::int64_t j = 0; j < lk; ++j) value += scores[j] * double(v.at({b, h, j, e}));
                    out.push_back(total == 0 ? 0 : value / total);
                }
            }
    return out;
}

template <typename T> void check_close(const Tensor<T>& actual, const std::vector<double>& expected, double tolerance) {
    REQUIRE(actual.is_contiguous());
    REQUIRE(actual.numel() == std::int64_t(expected.size()));
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
        worst = std::max(worst, std::abs(double(actual.data()[i]) - expected[i]));
    CHECK(worst <= tolerance);
}

template <typename T> constexpr double tolerance_of() { return std::is_same_v<T, float> ? 2e-5 : 1e-12; }

// Query, key and value as CLIP makes them: strided views of one [B, L, 3 * H * D] projection.
template <typename T> std::vector<Tensor<T>> split_fused(const Tensor<T>& qkv, std::int64_t heads) {
    std::int64_t batch = qkv.size(0), length = qkv.size(1), d = qkv.size(2) / (3 * heads);
    Tensor<T> split = qkv.reshape({batch, length, 3, heads, d}).permute({2, 0, 3, 1, 4});
    return {split.select(0, 0), split.select(0, 1), split.select(0, 2)};
}

// A [B, 1, 1, L] mask hiding the keys at or past each sequence's length.
template <typename T> Tensor<T> padding_mask(const std::vector<std::int64_t>& lengths, std::int64_t length) {
    Tensor<T> mask = Tensor<T>::zeros({std::int64_t(lengths.size()), 1, 1, length});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::int64_t j = lengths[b]; j < length; ++j)
            mask.data()[std::int64_t(b) * length + j] = -std::numeric_limits<T>::infinity();
    return mask;
}

} // namespace

TEST_CASE("causal_mask is 0 on and below the diagonal and -inf above") {
    Tensor<float> mask = causal_mask<float>(3);
    CHECK(mask.shape() == Shape{3, 3});
    float inf = std::numeric_limits<float>::infinity();
    CHECK(mask.to_vector() == std::vector<float>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0});
    CHECK(causal_mask<double>(0).numel() == 0);
    CHECK_THROWS_AS(causal_mask<float>(-1), Error);
}

TEST_CASE_TEMPLATE("scaled_dot_product_attention matches plain loops", T, float, double) {
    // Lengths and head sizes chosen to leave partial SIMD batches and partial row panels.
    Tensor<T> q = random_of<T>({2, 3, 13, 5}, 1), k = random_of<T>({2, 3, 19, 5}, 2),
              v = random_of<T>({2, 3, 19, 6}, 3);
    Tensor<T> out = scaled_dot_product_attention(q, k, v);
    CHECK(out.shape() == Shape{2, 3, 13, 6});
    check_close(out, naive_attention(q, k, v, Tensor<T>(), 1 / std::sqrt(5.0)), tolerance_of<T>());
    check_close(scaled_dot_product_attention(q, k, v, Tensor<T>(), 0.7), naive_attention(q, k, v, Tensor<T>(), 0.7),
                tolerance_of<T>());

    // CLIP's text tower: causal mask over 77 tokens, 64-wide heads.
    Tensor<T> q77 = random_of<T>({1, 2, 77, 64}, 4), k77 = random_of<T>({1, 2, 77, 64}, 5),
              v77 = random_of<T>({1, 2, 77, 64}, 6);
    Tensor<T> causal = causal_mask<T>(77);
    check_close(scaled_dot_product_attention(q77, k77, v77, causal), naive_attention(q77, k77, v77, causal, 0.125),
                tolerance_of<T>());

    // Recording the graph (probabilities saved for backward) gives the same values.
    Tensor<T> leaf = q77.clone().requires_grad_();
    check_close(scaled_dot_product_attention(leaf, k77, v77, causal), naive_attention(q77, k77, v77, causal, 0.125),
                tolerance_of<T>());
}

TEST_CASE_TEMPLATE("scaled_dot_product_attention with a [B, 1, Lq, Lk] mask and fused-qkv views", T, float, double) {
    std::int64_t batch = 3, heads = 4, length = 21, d = 8;
    Tensor<T> qkv = random_of<T>({batch, length, 3 * heads * d}, 7);
    std::vector<Tensor<T>> views = split_fused(qkv, heads);
    CHECK(views[0].shape() == Shape{batch, heads, length, d});
    CHECK(views[0].strides()[2] == 3 * heads * d);
    CHECK_FALSE(views[0].is_contiguous());

    Tensor<T> padding = padding_mask<T>({21, 9, 1}, length).expand({batch, 1, length, length});
    Tensor<T> out = scaled_dot_product_attention(views[0], views[1], views[2], padding);
    check_close(out, naive_attention(views[0], views[1], views[2], padding, 1 / std::sqrt(double(d))),
                tolerance_of<T>());

    // Views whose rows are not unit-stride (read as transposes of [B, H, D, L] tensors).
    Tensor<T> qt = random_of<T>({batch, heads, d, length}, 9).transpose(2, 3),
              kt = random_of<T>({batch, heads, d, length}, 10).transpose(2, 3);
    Tensor<T> vt = random_of<T>({batch, heads, d, length}, 11).transpose(2, 3);
    check_close(scaled_dot_product_attention(qt, kt, vt, causal_mask<T>(length)),
                naive_attention(qt, kt, vt, causal_mask<T>(length), 1 / std::sqrt(double(d))), tolerance_of<T>());

    Tensor<T> per_head = random_of<T>({batch, heads, length, length}, 8);
    check_close(scaled_dot_product_attention(views[0], views[1], views[2], per_head, 0.5),
                naive_attention(views[0], views[1], views[2], per_head, 0.5), tolerance_of<T>());
}

TEST_CASE("scaled_dot_product_attention gradients") {
    auto attention = [](Tensor<double> mask) {
        return [mask](const std::vector<Tensor<double>>& x) {
            return scaled_dot_product_attention(x[0], x[1], x[2], mask);
        };
    };
    Tensor<double> q = random_tensor({2, 2, 5, 4}, 11), k = random_tensor({2, 2, 5, 4}, 12),
                   v = random_tensor({2, 2, 5, 4}, 13);
    check_gradients(attention(Tensor<double>()), {q, k, v});
    check_gradients(attention(causal_mask<double>(5)), {q, k, v});
    check_gradients(attention(padding_mask<double>({3, 5}, 5)), {q, k, v});

    // Cross attention with a value width of its own, and an explicit scale.
    check_gradients(
        [](const std::vector<Tensor<double>>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], {}, 0.3); },
        {random_tensor({2, 2, 3, 4}, 14), random_tensor({2, 2, 6, 4}, 15), random_tensor({2, 2, 6, 7}, 16)});

    // Gradients through strided views of one fused projection.
    check_gradients(
        [](const std::vector<Tensor<double>>& x) {
            std::vector<Tensor<double>> views = split_fused(x[0], 2);
            return scaled_dot_product_attention(views[0], views[1], views[2], causal_mask<double>(5));
        },
        {random_tensor({2, 5, 3 * 2 * 4}, 17)});

    // Gradients through views whose rows are not unit-stride.
    check_gradients(
        [](const std::vector<Tensor<double>>& x) {
            return scaled_dot_product_attention(x[0].transpose(2, 3), x[1].transpose(2, 3), x[2].transpose(2, 3));
        },
        {random_tensor({1, 2, 4, 5}, 18), random_tensor({1, 2, 4, 6}, 19), random_tensor({1, 2, 3, 6}, 20)});

    // Only some inputs needing gradients.
    check_gradients([&](const std::vector<Tensor<double>>& x) { return scaled_dot_product_attention(x[0], k, v); },
                    {q.clone().detach()});
    check_gradients([&](const std::vector<Tensor<double>>& x) { return scaled_dot_product_attention(q, x[0], v); },
                    {k.clone().detach()});
    check_gradients([&](const std::vector<Tensor<double>>& x) { return scaled_dot_product_attention(q, k, x[0]); },
                    {v.clone().detach()});
}

TEST_CASE("a fully masked row gives zeros and finite gradients") {
    Tensor<double> mask = Tensor<double>::zeros({4, 6});
    for (std::int64_t j = 0; j < 6; ++j) mask.data()[2 * 6 + j] = -infinity; // query 2 sees nothing
    Tensor<double> q = random_tensor({1, 2, 4, 3}, 21).requires_grad_(),
                   k = random_tensor({1, 2, 6, 3}, 22).requires_grad_();
    Tensor<double> v = random_tensor({1, 2, 6, 3}, 23).requires_grad_();
    Tensor<double> out = scaled_dot_product_attention(q, k, v, mask);
    for (std::int64_t h = 0; h < 2; ++h)
        for (std::int64_t e = 0; e < 3; ++e) CHECK(out.at({0, h, 2, e}) == 0.0);
    sum(out).backward();
    for (const Tensor<double>& x : {q, k, v})
        for (double g : x.grad().to_vector()) CHECK(std::isfinite(g));
    for (std::int64_t e = 0; e < 3; ++e) CHECK(q.grad().at({0, 1, 2, e}) == 0.0);
    check_gradients(
        [&](const std::vector<Tensor<double>>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], mask); },
        {q.detach().clone(), k.detach().clone(), v.detach().clone()});

    Tensor<float> everything_masked = Tensor<float>::full({1, 1, 2, 3}, -std::numeric_limits<float>::infinity());
    Tensor<float> zeros =
        scaled_dot_product_attention(Tensor<float>::ones({1, 1, 2, 4}), Tensor<float>::ones({1, 1, 3, 4}),
                                     Tensor<float>::ones({1, 1, 3, 4}), everything_masked);
    CHECK(zeros.to_vector() == std::vector<float>(8, 0.0f));
}

TEST_CASE("scaled_dot_product_attention rejects inputs that do not fit") {
    Tensor<float> q = Tensor<float>::zeros({2, 3, 5, 4}), k = Tensor<float>::zeros({2, 3, 6, 4}),
                  v = Tensor<float>::zeros({2, 3, 6, 4});
    CHECK_THROWS_WITH_AS(
        scaled_dot_product_attention(q, Tensor<float>::zeros({2, 3, 6, 8}), v),
        "scaled_dot_product_attention: query [2, 3, 5, 4], key [2, 3, 6, 8] and value [2, 3, 6, 4] do not "
        "fit: expected query [B, H, Lq, D], key [B, H, Lk, D] and value [B, H, Lk, Dv]",
        Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, Tensor<float>::zeros({2, 3, 7, 4})),
                         doctest::Contains("key [2, 3, 6, 4] and value [2, 3, 7, 4] do not fit"), Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, Tensor<float>::zeros({1, 3, 6, 4})),
                         doctest::Contains("scaled_dot_product_attention: query [2, 3, 5, 4]"), Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(Tensor<float>::zeros({3, 5, 4}), k, v),
                         "scaled_dot_product_attention: the query must have rank 4, got shape [3, 5, 4]", Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, Tensor<float>::zeros({2, 3, 6, 4, 1})),
                         "scaled_dot_product_attention: the value must have rank 4, got shape [2, 3, 6, 4, 1]", Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, v, Tensor<float>::zeros({6, 6})),
                         "scaled_dot_product_attention: mask of shape [6, 6] does not broadcast to the scores' shape "
                         "[2, 3, 5, 6] ([B, H, Lq, Lk] for query [2, 3, 5, 4] and key [2, 3, 6, 4]); give it shape "
                         "[Lq, Lk] or [B, 1 or H, Lq, Lk]",
                         Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, v, Tensor<float>::zeros({2, 2, 5, 6})),
                         doctest::Contains("mask of shape [2, 2, 5, 6] does not broadcast"), Error);
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k, v, Tensor<float>::zeros({1, 2, 3, 5, 6})),
                         doctest::Contains("mask of shape [1, 2, 3, 5, 6] does not broadcast"), Error);
    CHECK_THROWS_AS(
        scaled_dot_product_attention(Tensor<float>::zeros({2, 3, 5, 0}), Tensor<float>::zeros({2, 3, 6, 0}), v), Error);
}
