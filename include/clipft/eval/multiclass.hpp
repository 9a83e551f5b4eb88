#pragma once
// Metrics of K-class predictions from class labels (0..K-1) and class probabilities [n, K], with
// scikit-learn's definitions (1.2.1): accuracy of the argmax (the first of tied maxima, as
// numpy.argmax), the confusion matrix (rows the true class, columns the predicted one, as
// confusion_matrix), one-vs-rest ROC AUC and average precision of each class's probability
// against all other images, and their unweighted mean, the macro AUC (roc_auc_score(y, p,
// multi_class="ovr", average="macro")).
#include <clipft/backends.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/io/json.hpp>
#include <clipft/tensor.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

struct MulticlassMetrics {
    std::vector<std::string> classes;
    double accuracy = 0, macro_auc = 0;
    std::vector<std::vector<std::int64_t>> confusion_matrix; // [true][predicted]
    std::vector<double> auc, average_precision;              // per class, one-vs-rest
    std::vector<std::int64_t> counts;                        // images per true class
};

// The class of highest probability in each row of `probabilities` [n, K] (the first of ties).
inline std::vector<std::int64_t> predicted_classes(const Tensor<float>& probabilities) {
    if (probabilities.dim() != 2 || probabilities.size(1) < 1)
        fail("predicted_classes: probabilities must be [images, classes], got shape ", probabilities.shape());
    Tensor<float> dense = probabilities.to(Device::cpu()).contiguous();
    const std::int64_t n = dense.size(0), k = dense.size(1);
    std::vector<std::int64_t> predicted;
    for (std::int64_t i = 0; i < n; ++i) {
        const float* row = dense.data() + i * k;
        std::int64_t best = 0;
        for (std::int64_t c = 1; c < k; ++c)
            if (row[c] > row[best]) best = c;
        predicted.push_back(best);
    }
    return predicted;
}

// Every class needs an image and every image a class in 0..K-1 (K = classes.size() = the columns
// of `probabilities`); K >= 2. Errors name the class or row at fault.
inline MulticlassMetrics multiclass_metrics(const std::vector<std::int64_t>& labels, const Tensor<float>& probabilities,
                                            const std::vector<std::string>& classes) {
    const std::int64_t k = std::int64_t(classes.size());
    if (k < 2) fail("multiclass_metrics: ", k, " class names; give at least two");
    if (probabilities.dim() != 2 || probabilities.size(0) != std::int64_t(labels.size()) || probabilities.size(1) != k)
        fail("multiclass_metrics: probabilities of shape ", probabilities.shape(), " do not fit ", labels.size(),
             " labels and ", k, " classes; give [images, classes]");
    MulticlassMetrics metrics;
    metrics.classes = classes;
    metrics.counts.assign(std::size_t(k), 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= k)
            fail("multiclass_metrics: label ", labels[i], " of image ", i, " is not a class index (", k, " classes)");
        ++metrics.counts[std::size_t(labels[i])];
    }
    for (std::int64_t c = 0; c < k; ++c)
        if (metrics.counts[std::size_t(c)] == 0)
            fail("multiclass_metrics: class '", classes[std::size_t(c)],
                 "' has no images; its one-vs-rest AUC is undefined");

    const std::vector<std::int64_t> predicted = predicted_classes(probabilities);
    metrics.confusion_matrix.assign(std::size_t(k), std::vector<std::int64_t>(std::size_t(k), 0));
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        ++metrics.confusion_matrix[std::size_t(labels[i])][std::size_t(predicted[i])];
        correct += labels[i] == predicted[i];
    }
    metrics.accuracy = double(correct) / double(labels.size());

    Tensor<float> dense = probabilities.to(Device::cpu()).contiguous();
    double auc_sum = 0;
    for (std::int64_t c = 0; c < k; ++c) {
        std::vector<int> is_class;
        std::vector<double> scores;
        for (std::size_t i = 0; i < labels.size(); ++i) {
            is_class.push_back(labels[i] == c);
            scores.push_back(dense.data()[std::int64_t(i) * k + c]);
        }
        const std::string context = "class '" + classes[std::size_t(c)] + "' against the rest";
        detail::ScoreRanking ranking = detail::rank_scores(is_class, scores, context);
        detail::require_both_classes(ranking, context, "ROC AUC");
        metrics.auc.push_back(detail::roc_auc(ranking));
        metrics.average_precision.push_back(detail::average_precision(ranking));
        auc_sum += metrics.auc.back();
    }
    metrics.macro_auc = auc_sum / double(k);
    return metrics;
}

// {"accuracy", "macro_auc", "confusion_matrix" [K][K], "classes", "per_class": {name: {"auc", "ap", "n"}}}.
inline nlohmann::ordered_json to_json(const MulticlassMetrics& metrics) {
    nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
    for (std::size_t c = 0; c < metrics.classes.size(); ++c)
        per_class[metrics.classes[c]] = {
            {"auc", metrics.auc[c]}, {"ap", metrics.average_precision[c]}, {"n", metrics.counts[c]}};
    return {{"accuracy", metrics.accuracy},
            {"macro_auc", metrics.macro_auc},
            {"classes", metrics.classes},
            {"confusion_matrix", metrics.confusion_matrix},
            {"per_class", per_class}};
}

} // namespace clipft::eval
