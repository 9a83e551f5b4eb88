#pragma once
// k nearest neighbours by cosine similarity, as scikit-learn's
// KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute"): the probability of class
// c is the share of the k most similar training features labelled c. Similarities are computed in
// float32 from normalised rows (as scikit-learn does for float32 input); among equally similar
// training rows the earlier one is nearer (scikit-learn leaves that order to its partial sort).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/heads/linear_probe.hpp>
#include <clipft/ops.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

struct NearestNeighbors {
    Tensor<float> features;           // [N, D] the training features
    std::vector<std::int64_t> labels; // [N]
    std::int64_t classes = 2;
    std::int64_t k = 5;

    void check() const {
        Tensor<float> train = feature_matrix(features, -1, "NearestNeighbors");
        if (train.size(0) == 0) fail("NearestNeighbors: no training features");
        if (std::int64_t(labels.size()) != train.size(0))
            fail("NearestNeighbors: ", labels.size(), " labels for ", train.size(0), " training features");
        if (classes < 2) fail("NearestNeighbors: needs at least 2 classes, got ", classes);
        if (k < 1 || k > train.size(0))
            fail("NearestNeighbors: k = ", k, " neighbours, but there are ", train.size(0),
                 " training features (1 <= k <= N)");
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (labels[i] < 0 || labels[i] >= classes)
                fail("NearestNeighbors: label ", labels[i], " of training row ", i, " is outside 0..", classes - 1);
    }

    // Class probabilities [M, K] of queries [M, D].
    Tensor<float> probabilities(const Tensor<float>& queries) const {
        check();
        NoGradGuard no_grad;
        Tensor<float> train = ops::l2_normalize(feature_matrix(features, -1, "NearestNeighbors")).contiguous();
        Tensor<float> asked =
            ops::l2_normalize(feature_matrix(queries, train.size(1), "NearestNeighbors::probabilities"));
        const std::int64_t m = asked.size(0), n = train.size(0), block = 1024;
        Tensor<float> result = Tensor<float>::zeros({m, classes});
        Tensor<float> train_t = train.transpose(0, 1).contiguous();
        for (std::int64_t begin = 0; begin < m; begin += block) {
            const std::int64_t rows = std::min(block, m - begin);
            Tensor<float> similarity = ops::matmul(asked.narrow(0, begin, rows), train_t).contiguous(); // [rows, N]
            backend::parallel_for(rows, 8, [&](std::int64_t first, std::int64_t last) {
                std::vector<std::int64_t> order(static_cast<std::size_t>(n)), counts(static_cast<std::size_t>(classes));
                for (std::int64_t r = first; r < last; ++r) {
                    const float* s = similarity.data() + r * n;
                    std::iota(order.begin(), order.end(), 0);
                    std::partial_sort(
                        order.begin(), order.begin() + k, order.end(),
                        [s](std::int64_t a, std::int64_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
                    std::fill(counts.begin(), counts.end(), 0);
                    for (std::int64_t j = 0; j < k; ++j)
                        ++counts[std::size_t(labels[std::size_t(order[std::size_t(j)])])];
                    for (std::int64_t c = 0; c < classes; ++c)
                        result.data()[(begin + r) * classes + c] = float(double(counts[std::size_t(c)]) / double(k));
                }
            });
        }
        return result;
    }
};

} // namespace clipft::heads
