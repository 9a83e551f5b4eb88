// cross_entropy: every reduction with and without class weights against the hand formula,
// stability, gradients, bad targets and shapes.
#include "gradcheck.hpp"

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

Tensor<std::int64_t> labels(const std::vector<std::int64_t>& values) {
    return Tensor<std::int64_t>::from_vector(values);
}

// Per-sample w[y] * (log(sum(exp(row))) - row[y]), by plain loops.
std::vector<double> reference_losses(const Tensor<double>& logits, const std::vector<std::int64_t>& targets,
                                     const std::vector<double>& weights) {
    std::vector<double> losses;
    for (std::int64_t i = 0; i < logits.size(0); ++i) {
        double total = 0;
        for (std::int64_t c = 0; c < logits.size(1); ++c) total += std::exp(logits.at({i, c}));
        double weight = weights.empty() ? 1.0 : weights[targets[i]];
        losses.push_back(weight * (std::log(total) - logits.at({i, targets[i]})));
    }
    return losses;
}

} // namespace

TEST_CASE("cross_entropy matches the hand formula for every reduction, with and without class weights") {
    Tensor<double> logits = random_tensor({5, 3}, 51, -3, 3);
    std::vector<std::int64_t> targets{0, 2, 1, 2, 2};
    std::vector<double> class_weights{0.5, 2.0, 1.5};
    Tensor<double> weights = Tensor<double>::from_vector(class_weights);
    for (bool weighted : {false, true}) {
        std::vector<double> losses =
            reference_losses(logits, targets, weighted ? class_weights : std::vector<double>{});
        double total = 0, weight_total = 0;
        for (std::size_t i = 0; i < losses.size(); ++i) {
            total += losses[i];
            weight_total += weighted ? class_weights[targets[i]] : 1.0;
        }
        Tensor<double> w = weighted ? weights : Tensor<double>();
        Tensor<double> none = cross_entropy(logits, labels(targets), w, Reduction::none);
        REQUIRE(none.shape() == Shape{5});
        for (std::int64_t i = 0; i < 5; ++i) CHECK(none.data()[i] == doctest::Approx(losses[i]).epsilon(1e-12));
        Tensor<double> summed = cross_entropy(logits, labels(targets), w, Reduction::sum);
        CHECK(summed.shape() == Shape{});
        CHECK(summed.item() == doctest::Approx(total).epsilon(1e-12));
        CHECK(cross_entropy(logits, labels(targets), w).item() == doctest::Approx(total / weight_total).epsilon(1e-12));
        Tensor<float> mean32 =
            cross_entropy(logits.to<float>(), labels(targets), weighted ? weights.to<float>() : Tensor<float>());
        CHECK(mean32.item() == doctest::Approx(total / weight_total).epsilon(1e-5));
    }
    CHECK(cross_entropy(logits, labels(targets), Reduction::sum).item() ==
          doctest::Approx(cross_entropy(logits, labels(targets), Tensor<double>(), Reduction::sum).item()));
}

TEST_CASE("cross_entropy of huge logits stays finite") {
    Tensor<float> logits = Tensor<float>::from_vector({1000, 0, -1000, 2000}, {2, 2});
    std::vector<float> losses = cross_entropy(logits, labels({1, 0}), Reduction::none).to_vector();
    CHECK(losses[0] == doctest::Approx(1000.0));
    CHECK(losses[1] == doctest::Approx(3000.0));
}

TEST_CASE("cross_entropy gradients: every reduction, weighted and not, a transposed input, many classes") {
    Tensor<double> weights = Tensor<double>::from_vector({0.5, 2.0, 1.5, 1.0});
    for (Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
        check_gradients(
            [&](const auto& in) {
                return cross_entropy(in[0], labels({3, 0, 1, 1, 2}), weights, reduction);
            },
            {random_tensor({5, 4}, 61)});
        check_gradients(
            [&](const auto& in) {
                return cross_entropy(in[0], labels({3, 0, 1, 1, 2}), reduction);
            },
            {random_tensor({5, 4}, 62)});
    }
    // The CLIP loss scores the transposed similarity matrix too.
    check_gradients(
        [](const auto& in) {
            return cross_entropy(in[0].transpose(0, 1), labels({0, 1, 2}));
        },
        {random_tensor({3, 3}, 63)});
    check_gradients([](const auto& in) { return cross_entropy(in[0], labels({36, 0})); }, {random_tensor({2, 37}, 64)});
}

TEST_CASE("cross_entropy rejects bad targets and shapes, naming the op, the index and the shapes") {
    Tensor<float> logits = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels({0, 3})),
                         "cross_entropy: target 3 at index 1 is out of range for 3 classes (logits of shape [2, 3]); "
                         "class indices must lie in [0, 3)",
                         Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels({-1, 0})),
                         doctest::Contains("target -1 at index 0 is out of range for 3 classes"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels({0, 1, 2})),
                         doctest::Contains("cross_entropy: targets of shape [3] do not match logits of shape [2, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(
        cross_entropy(logits, Tensor<std::int64_t>::zeros({2, 1})),
        doctest::Contains("cross_entropy: targets of shape [2, 1] do not match logits of shape [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(
        cross_entropy(Tensor<float>::zeros({3}), labels({0})),
        doctest::Contains(
            "cross_entropy: logits must have shape [N, C] (one row of class scores per sample), got shape [3]"),
        Error);
    CHECK_THROWS_WITH_AS(
        cross_entropy(logits, labels({0, 1}), Tensor<float>::ones({2})),
        doctest::Contains("cross_entropy: class_weights of shape [2] do not match logits of shape [2, 3]"), Error);
}
