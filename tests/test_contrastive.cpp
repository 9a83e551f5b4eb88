// group_contrastive_loss and clip_loss against plain loops in double, their gradients by finite
// differences, the collision-free property, and bad shapes.
#include "assertions.hpp"
#include "gradcheck.hpp"

#include <clipft/loss/contrastive.hpp>

using namespace clipft;
using testing::check_gradients;
using testing::random_tensor;

namespace {

// Mean over groups of (CE(S) + CE(S^T)) / 2 with S = exp(t) * normalised I @ normalised T^T.
double reference_loss(const Tensor<double>& images, const Tensor<double>& texts, double scale) {
    std::int64_t groups = images.size(0), k = images.size(1), d = images.size(2);
    auto norm = [&](const Tensor<double>& x, std::int64_t g, std::int64_t i) {
        double s = 0;
        for (std::int64_t e = 0; e < d; ++e) s += x.at({g, i, e}) * x.at({g, i, e});
        return std::sqrt(s);
    };
    double total = 0;
    for (std::int64_t g = 0; g < groups; ++g) {
        auto s = std::vector<std::vector<double>>(std::size_t(k), std::vector<double>(std::size_t(k)));
        for (std::int64_t i = 0; i < k; ++i)
            for (std::int64_t j = 0; j < k; ++j) {
                double dot = 0;
                for (std::int64_t e = 0; e < d; ++e) dot += images.at({g, i, e}) * texts.at({g, j, e});
                s[i][j] = std::exp(scale) * dot / (norm(images, g, i) * norm(texts, g, j));
            }
        double rows = 0, columns = 0;
        for (std::int64_t i = 0; i < k; ++i) {
            double row_sum = 0, column_sum = 0;
            for (std::int64_t j = 0; j < k; ++j) row_sum += std::exp(s[i][j]), column_sum += std::exp(s[j][i]);
            rows += std::log(row_sum) - s[i][i];
            columns += std::log(column_sum) - s[i][i];
        }
        total += (rows / double(k) + columns / double(k)) / 2;
    }
    return total / double(groups);
}

} // namespace

TEST_CASE("group_contrastive_loss equals the thesis' formula") {
    for (auto [groups, k] : {std::pair{3, 2}, {2, 3}, {1, 5}}) {
        CAPTURE(groups);
        CAPTURE(k);
        Tensor<double> images = random_tensor({groups, k, 6}, 11), texts = random_tensor({groups, k, 6}, 12);
        Tensor<double> scale = Tensor<double>::scalar(std::log(1 / 0.07));
        double loss = loss::group_contrastive_loss(images, texts, scale).item();
        CHECK(loss == doctest::Approx(reference_loss(images, texts, scale.item())).epsilon(1e-12));
    }
}

TEST_CASE("clip_loss is the group loss of one group holding the whole batch") {
    Tensor<double> images = random_tensor({4, 5}, 21), texts = random_tensor({4, 5}, 22);
    Tensor<double> scale = Tensor<double>::scalar(2.0);
    double loss = loss::clip_loss(images, texts, scale).item();
    CHECK(loss == doctest::Approx(reference_loss(images.unsqueeze(0), texts.unsqueeze(0), 2.0)).epsilon(1e-12));
}

TEST_CASE("the group loss sees no collisions: other groups never act as negatives") {
    // Group 0 is fixed; changing group 1 changes only group 1's term of the mean.
    Tensor<double> images = random_tensor({2, 2, 4}, 31), texts = random_tensor({2, 2, 4}, 32);
    Tensor<double> scale = Tensor<double>::scalar(1.5);
    double first = reference_loss(images.narrow(0, 0, 1), texts.narrow(0, 0, 1), 1.5);
    double second = reference_loss(images.narrow(0, 1, 1), texts.narrow(0, 1, 1), 1.5);
    CHECK(loss::group_contrastive_loss(images, texts, scale).item() ==
          doctest::Approx((first + second) / 2).epsilon(1e-12));
    // In plain CLIP training, two images of the same class in one batch push each other's shared
    // description away; the group loss of those two groups is lower than the CLIP loss over all four.
    Tensor<double> same_descriptions = Tensor<double>::empty({2, 2, 4});
    same_descriptions.narrow(0, 0, 1).copy_(texts.narrow(0, 0, 1));
    same_descriptions.narrow(0, 1, 1).copy_(texts.narrow(0, 0, 1));
    double grouped = loss::group_contrastive_loss(images, same_descriptions, scale).item();
    double plain = loss::clip_loss(images.reshape({4, 4}), same_descriptions.reshape({4, 4}), scale).item();
    CHECK(grouped < plain);
}

TEST_CASE("group_contrastive_loss gradients match finite differences") {
    check_gradients(
        [](const std::vector<Tensor<double>>& in) { return loss::group_contrastive_loss(in[0], in[1], in[2]); },
        {random_tensor({2, 3, 5}, 41), random_tensor({2, 3, 5}, 42), Tensor<double>::scalar(1.2)});
}

TEST_CASE("group_contrastive_loss rejects bad shapes with a clear message") {
    Tensor<float> a = Tensor<float>::ones({2, 2, 4}), scale = Tensor<float>::scalar(1);
    CHECK(testing::error_message([&] {
              loss::group_contrastive_loss(a, Tensor<float>::ones({2, 3, 4}), scale);
          }).find("[groups, k, dim]") != std::string::npos);
    CHECK(testing::error_message([&] {
              loss::group_contrastive_loss(Tensor<float>::ones({2, 1, 4}), Tensor<float>::ones({2, 1, 4}), scale);
          }).find("at least 2") != std::string::npos);
    CHECK(testing::error_message([&] {
              loss::group_contrastive_loss(a, a, Tensor<float>::ones({2}));
          }).find("logit_scale") != std::string::npos);
    CHECK(testing::error_message([&] { loss::clip_loss(a, a, scale); }).find("[N, dim]") != std::string::npos);
}
