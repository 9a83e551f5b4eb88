#pragma once
// A linear head on frozen image features: class probabilities softmax(W x + b), W [K, D], b [K].
// Fitted by logistic regression (heads/logistic_regression.hpp) or made from a zero-shot classifier:
// the descriptions' embeddings times CLIP's logit scale, so that W x equals the zero-shot logits
// of a normalised image embedding x (WiSE-FT's linear-classifier variant starts there).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/ops.hpp>
#include <clipft/tensor.hpp>

#include <cmath>
#include <numeric>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

// Checks that `features` is a [N, D] matrix of D = `width` columns (any D when width < 0) and
// returns it contiguous; `what` names the features in the message.
inline Tensor<float> feature_matrix(const Tensor<float>& features, std::int64_t width, const std::string& what) {
    if (!features.defined() || features.dim() != 2)
        fail(what, ": expected features of shape [N, D], got ", features.defined() ? features.shape() : Shape{});
    if (width >= 0 && features.size(1) != width)
        fail(what, ": features of shape ", features.shape(), " have ", features.size(1), " columns; the head expects ",
             width);
    return features.to(Device::cpu()).contiguous();
}

struct LinearProbe {
    Tensor<float> weight; // [K, D]
    Tensor<float> bias;   // [K]

    std::int64_t classes() const { return weight.size(0); }
    std::int64_t width() const { return weight.size(1); }

    void check() const {
        if (!weight.defined() || !bias.defined() || weight.dim() != 2 || bias.dim() != 1 ||
            bias.size(0) != weight.size(0) || weight.size(0) < 2)
            fail("LinearProbe: weight ", weight.defined() ? weight.shape() : Shape{}, " and bias ",
                 bias.defined() ? bias.shape() : Shape{}, " are no head of K >= 2 classes ([K, D] and [K])");
    }

    // Class logits W x + b [N, K] of features [N, D], accumulated in double.
    Tensor<float> logits(const Tensor<float>& features) const {
        check();
        Tensor<float> x = feature_matrix(features, width(), "LinearProbe::logits");
        Tensor<float> w = weight.to(Device::cpu()).contiguous(), b = bias.to(Device::cpu()).contiguous();
        const std::int64_t n = x.size(0), d = width(), k = classes();
        Tensor<float> result = Tensor<float>::empty({n, k});
        backend::parallel_for(n, 64, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i)
                for (std::int64_t c = 0; c < k; ++c) {
                    const float* row = x.data() + i * d;
                    const float* weights = w.data() + c * d;
                    double sum = b.data()[c];
                    for (std::int64_t j = 0; j < d; ++j) sum += double(weights[j]) * double(row[j]);
                    result.data()[i * k + c] = float(sum);
                }
        });
        return result;
    }

    // softmax(W x + b) [N, K].
    Tensor<float> probabilities(const Tensor<float>& features) const {
        NoGradGuard no_grad;
        return ops::softmax(logits(features), -1);
    }

    // The zero-shot classifier as a head: W_c = exp(logit_scale) * the mean of class c's normalised
    // description embeddings (rows of class c consecutive, counts[c] of them), b = 0. Its logits of
    // a normalised image embedding are the zero-shot logits of the "mean" rule (eval/scoring.hpp).
    static LinearProbe zero_shot(const Tensor<float>& description_embeds, const std::vector<std::int64_t>& counts,
                                 float logit_scale) {
        NoGradGuard no_grad;
        const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t(0));
        if (description_embeds.dim() != 2 || description_embeds.size(0) != total || counts.size() < 2)
            fail("LinearProbe::zero_shot: ", description_embeds.shape(), " description embeddings do not fit ",
                 counts.size(), " classes with ", total, " descriptions in all");
        Tensor<float> texts = ops::l2_normalize(description_embeds.to(Device::cpu()));
        std::vector<Tensor<float>> rows;
        for (std::size_t c = 0, first = 0; c < counts.size(); first += std::size_t(counts[c++])) {
            if (counts[c] < 1) fail("LinearProbe::zero_shot: class ", c, " has no description");
            rows.push_back(ops::mean(texts.narrow(0, std::int64_t(first), counts[c]), {0}) * std::exp(logit_scale));
        }
        return {ops::stack(rows, 0).contiguous(), Tensor<float>::zeros({std::int64_t(counts.size())})};
    }
};

} // namespace clipft::heads
