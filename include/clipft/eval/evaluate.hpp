#pragma once
// Scoring a dataset with a CLIP model and a description set: image embeddings in batches (with a
// progress bar), the descriptions encoded once and reused by every scoring rule, class
// probabilities, and the positive class's probability as each image's score.
#include <clipft/backends.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/eval/scoring.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/progress.hpp>
#include <clipft/text/tokenized_descriptions.hpp>

#include <numeric>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

// Text embeddings [total, D] of every description of a table, in its row order, on the CPU (the
// model may be on a GPU: the token ids go there).
inline Tensor<float> encode_descriptions(const models::CLIP<float>& model, const text::TokenizedDescriptions& table,
                                         std::int64_t batch = 64) {
    NoGradGuard no_grad;
    std::vector<Tensor<float>> parts;
    const Device device = model.device();
    std::int64_t total = table.token_ids.size(0);
    for (std::int64_t begin = 0; begin < total; begin += batch)
        parts.push_back(model.encode_text(table.token_ids.narrow(0, begin, std::min(batch, total - begin)).to(device)));
    return ops::concat(parts, 0).to(Device::cpu());
}

// Image embeddings [n, D] of every item of `images`, `batch` at a time, on the CPU (decoded on the
// CPU, encoded where the model is).
inline Tensor<float> encode_images(const models::CLIP<float>& model, const data::ImageSet& images,
                                   std::int64_t batch = 32, bool progress = false) {
    NoGradGuard no_grad;
    std::int64_t n = std::int64_t(images.labels.size());
    if (n == 0) fail("encode_images: the image set is empty");
    ProgressBar bar("encoding images", n, "img", progress);
    std::vector<Tensor<float>> parts;
    const Device device = model.device();
    for (std::int64_t begin = 0; begin < n; begin += batch) {
        std::vector<std::int64_t> items(static_cast<std::size_t>(std::min(batch, n - begin)));
        std::iota(items.begin(), items.end(), begin);
        parts.push_back(model.encode_image(images.load(items).to(device)));
        bar.update(begin + std::int64_t(items.size()));
    }
    return ops::concat(parts, 0).to(Device::cpu());
}

// Column `class_index` of class probabilities [n, C], as doubles (the score of each image).
inline std::vector<double> class_scores(const Tensor<float>& probabilities, std::int64_t class_index) {
    if (probabilities.dim() != 2 || class_index < 0 || class_index >= probabilities.size(1))
        fail("class_scores: no class ", class_index, " in probabilities of shape ", probabilities.shape());
    Tensor<float> dense = probabilities.contiguous();
    std::vector<double> scores;
    for (std::int64_t i = 0; i < dense.size(0); ++i) scores.push_back(dense.data()[i * dense.size(1) + class_index]);
    return scores;
}

// 1 where labels[i] == positive_class, else 0: binary labels for the metrics.
inline std::vector<int> binary_labels(const std::vector<std::int64_t>& labels, std::int64_t positive_class) {
    std::vector<int> binary;
    for (std::int64_t label : labels) binary.push_back(label == positive_class);
    return binary;
}

} // namespace clipft::eval
