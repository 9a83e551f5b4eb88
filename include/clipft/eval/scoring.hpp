#pragma once
// Class scores of images from the descriptions of each class (SPEC "Inference with descriptions").
// The logit of image i against description j is exp(t) <i, d_j> with both embeddings normalised;
// a rule turns the logits of a class's descriptions into one class logit, and a softmax over the
// classes gives each class's probability (for deepfake detection, the score is P(fake)).
#include <clipft/backends.hpp>
#include <clipft/ops.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

enum class DescriptionRule {
    mean,            // the mean of the class's description logits (one description: that logit)
    top_k,           // keep the K highest logits among all descriptions of all classes; mean per class; none kept: -inf
    per_class_top_k, // the mean of each class's own K highest logits
    ensemble         // CLIP's prompt ensembling: average the class's normalised text embeddings, re-normalise
};

struct ScoringOptions {
    DescriptionRule rule = DescriptionRule::mean;
    std::int64_t k = 1; // for the top-K rules

    static ScoringOptions parse(const std::string& text) {
        if (text == "mean") return {};
        if (text == "ensemble") return {DescriptionRule::ensemble};
        for (auto [prefix, rule] :
             {std::pair{"top-", DescriptionRule::top_k}, {"class-top-", DescriptionRule::per_class_top_k}}) {
            std::string p = prefix;
            if (text.rfind(p, 0) == 0 && text.size() > p.size() &&
                text.find_first_not_of("0123456789", p.size()) == std::string::npos) {
                ScoringOptions options{rule, std::stoll(text.substr(p.size()))};
                if (options.k >= 1) return options;
            }
        }
        fail("scoring rule '", text, "' is unknown; use mean, ensemble, top-K or class-top-K (K >= 1, e.g. top-5)");
    }
};

// image_embeds [N, D]; description_embeds [total, D] with the rows of class c consecutive, counts[c]
// of them; logit_scale the stored log scale. Returns class logits [N, C]. No graph is recorded.
inline Tensor<float> class_logits(const Tensor<float>& image_embeds, const Tensor<float>& description_embeds,
                                  const std::vector<std::int64_t>& counts, float logit_scale,
                                  const ScoringOptions& options = {}) {
    NoGradGuard no_grad;
    std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t(0));
    std::int64_t classes = std::int64_t(counts.size());
    if (image_embeds.dim() != 2 || description_embeds.dim() != 2 || description_embeds.size(0) != total ||
        description_embeds.size(1) != image_embeds.size(1))
        fail("class_logits: image embeddings ", image_embeds.shape(), " and description embeddings ",
             description_embeds.shape(), " do not fit ", classes, " classes with ", total, " descriptions in all");
    Tensor<float> texts = ops::l2_normalize(description_embeds);
    if (options.rule == DescriptionRule::ensemble) {
        std::vector<Tensor<float>> means;
        for (std::int64_t c = 0, first = 0; c < classes; first += counts[std::size_t(c++)])
            means.push_back(ops::mean(texts.narrow(0, first, counts[std::size_t(c)]), {0}));
        texts = ops::l2_normalize(ops::stack(means, 0));
    }
    Tensor<float> logits = ops::matmul(ops::l2_normalize(image_embeds), texts.transpose(0, 1)) * std::exp(logit_scale);
    if (options.rule == DescriptionRule::ensemble) return logits;

    std::int64_t n = logits.size(0);
    Tensor<float> result = Tensor<float>::empty({n, classes});
    std::vector<float> row(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < n; ++i) {
        std::copy_n(logits.data() + i * total, total, row.begin());
        // Global top-K: the K-th highest logit is the bar a description must reach (ties at the bar all count).
        float bar = -std::numeric_limits<float>::infinity();
        if (options.rule == DescriptionRule::top_k && options.k < total) {
            std::vector<float> sorted = row;
            std::nth_element(sorted.begin(), sorted.begin() + (options.k - 1), sorted.end(), std::greater<>());
            bar = sorted[std::size_t(options.k - 1)];
        }
        for (std::int64_t c = 0, first = 0; c < classes; first += counts[std::size_t(c++)]) {
            auto begin = row.begin() + first, end = begin + counts[std::size_t(c)];
            if (options.rule == DescriptionRule::per_class_top_k) {
                std::int64_t keep = std::min(options.k, counts[std::size_t(c)]);
                std::partial_sort(begin, begin + keep, end, std::greater<>());
                end = begin + keep;
            }
            double sum = 0;
            std::int64_t kept = 0;
            for (auto it = begin; it != end; ++it)
                if (*it >= bar) sum += *it, ++kept;
            result.data()[i * classes + c] = kept ? float(sum / double(kept)) : -std::numeric_limits<float>::infinity();
        }
    }
    return result;
}

// Softmax over the class logits: [N, C] probabilities.
inline Tensor<float> class_probabilities(const Tensor<float>& image_embeds, const Tensor<float>& description_embeds,
                                         const std::vector<std::int64_t>& counts, float logit_scale,
                                         const ScoringOptions& options = {}) {
    NoGradGuard no_grad;
    return ops::softmax(class_logits(image_embeds, description_embeds, counts, logit_scale, options), -1);
}

} // namespace clipft::eval
