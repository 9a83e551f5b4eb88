// Class scores from descriptions: mean, global top-K, per-class top-K and ensembling, on
// embeddings whose cosine similarities are known by construction.
#include "assertions.hpp"

#include <clipft/eval/scoring.hpp>

#include <limits>

using namespace clipft;
using eval::DescriptionRule;

namespace {

// Unit vectors at the given angles (radians) in the plane: cosines are cos(a - b).
Tensor<float> at_angles(const std::vector<double>& angles) {
    std::vector<float> values;
    for (double a : angles) values.push_back(float(std::cos(a))), values.push_back(float(std::sin(a)));
    return Tensor<float>::from_vector(values, {std::int64_t(angles.size()), 2});
}

} // namespace

TEST_CASE("each rule combines the description logits as SPEC says") {
    // One image at angle 0; class 0 has descriptions at 0.2, 1.0, 2.0; class 1 at 0.5, 1.5.
    Tensor<float> image = at_angles({0.0}) * 3.0f; // length does not matter
    Tensor<float> descriptions = at_angles({0.2, 1.0, 2.0, 0.5, 1.5});
    std::vector<std::int64_t> counts{3, 2};
    float scale = std::log(10.0f); // exp(t) = 10
    auto logits = [&](eval::ScoringOptions options) {
        return eval::class_logits(image, descriptions, counts, scale, options).to_vector();
    };
    auto c = [](double a) { return 10 * std::cos(a); };

    auto mean = logits({});
    CHECK(mean[0] == doctest::Approx((c(0.2) + c(1.0) + c(2.0)) / 3).epsilon(1e-5));
    CHECK(mean[1] == doctest::Approx((c(0.5) + c(1.5)) / 2).epsilon(1e-5));

    // Top-2 overall: 0.2 (class 0) and 0.5 (class 1).
    auto top2 = logits(eval::ScoringOptions::parse("top-2"));
    CHECK(top2[0] == doctest::Approx(c(0.2)).epsilon(1e-5));
    CHECK(top2[1] == doctest::Approx(c(0.5)).epsilon(1e-5));
    // Top-1 keeps only class 0's best: class 1 gets minus infinity.
    auto top1 = logits(eval::ScoringOptions::parse("top-1"));
    CHECK(top1[1] == -std::numeric_limits<float>::infinity());

    auto per_class = logits(eval::ScoringOptions::parse("class-top-2"));
    CHECK(per_class[0] == doctest::Approx((c(0.2) + c(1.0)) / 2).epsilon(1e-5));
    CHECK(per_class[1] == doctest::Approx((c(0.5) + c(1.5)) / 2).epsilon(1e-5));

    // Ensemble: class 1's mean direction is at angle 1.0 (symmetric pair), re-normalised.
    auto ensemble = logits(eval::ScoringOptions::parse("ensemble"));
    CHECK(ensemble[1] == doctest::Approx(c(1.0)).epsilon(1e-5));

    Tensor<float> probabilities = eval::class_probabilities(image, descriptions, counts, scale);
    double expected = std::exp(mean[1]) / (std::exp(mean[0]) + std::exp(mean[1]));
    CHECK(probabilities.to_vector()[1] == doctest::Approx(expected).epsilon(1e-5));
}

TEST_CASE("bad rules and mismatched shapes are refused") {
    CHECK(testing::error_message([] { eval::ScoringOptions::parse("top-0"); }).find("top-K") != std::string::npos);
    CHECK(testing::error_message([] { eval::ScoringOptions::parse("median"); }).find("unknown") != std::string::npos);
    CHECK(testing::error_message([] {
              eval::class_logits(at_angles({0}), at_angles({0, 1}), {1, 2}, 0.0f);
          }).find("3 descriptions") != std::string::npos);
}
