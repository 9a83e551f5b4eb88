// Binary metrics against scikit-learn's values (fixtures/metrics.json) and hand-computed cases.
#include <clipft/eval/metrics.hpp>
#include <clipft/io/json.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::error_message;
using clipft::testing::contains;
using clipft::testing::infinity;

namespace {

constexpr double tolerance = 1e-9; // the fixture README's tolerance for double precision

void check_close(double actual, double expected, const std::string& what) {
    CHECK_MESSAGE(std::abs(actual - expected) <= tolerance, what << ": " << actual << " vs " << expected);
}

void check_curve(const std::vector<double>& actual, const std::vector<double>& expected, const std::string& what) {
    REQUIRE_MESSAGE(actual.size() == expected.size(), what);
    for (std::size_t j = 0; j < actual.size(); ++j)
        if (std::isinf(expected[j]))
            CHECK_MESSAGE(actual[j] == expected[j], what << " point " << j);
        else
            check_close(actual[j], expected[j], what + " point " + std::to_string(j));
}

} // namespace

TEST_CASE("every metric matches scikit-learn on every fixture case") {
    auto path = clipft::testing::fixture_path("metrics.json");
    if (path.empty()) return;
    io::Json cases = io::read_json_file(path);
    REQUIRE(cases.size() == 9);
    for (const io::Json& fixture : cases) {
        std::string name = fixture["name"];
        INFO("case " << name);
        auto labels = fixture["labels"].get<std::vector<int>>();
        auto scores = fixture["scores"].get<std::vector<double>>();
        REQUIRE(labels.size() == fixture["n"].get<std::size_t>());
        double threshold = fixture["threshold"];

        check_close(eval::roc_auc(labels, scores), fixture["roc_auc"], name + " roc_auc");
        check_close(eval::average_precision(labels, scores), fixture["average_precision"], name + " average_precision");
        check_close(eval::equal_error_rate(labels, scores), fixture["eer"], name + " eer");

        eval::Confusion confusion = eval::confusion_at(labels, scores, threshold);
        CHECK(confusion.true_positives == fixture["tp"].get<std::int64_t>());
        CHECK(confusion.false_positives == fixture["fp"].get<std::int64_t>());
        CHECK(confusion.true_negatives == fixture["tn"].get<std::int64_t>());
        CHECK(confusion.false_negatives == fixture["fn"].get<std::int64_t>());
        check_close(confusion.precision, fixture["precision"], name + " precision");
        check_close(confusion.recall, fixture["recall"], name + " recall");
        check_close(confusion.accuracy, fixture["accuracy"], name + " accuracy");
        check_close(confusion.f1, fixture["f1"], name + " f1");

        eval::BinaryMetrics metrics = eval::binary_metrics(labels, scores, threshold);
        check_close(metrics.roc_auc, fixture["roc_auc"], name + " binary_metrics roc_auc");
        check_close(metrics.average_precision, fixture["average_precision"],
                    name + " binary_metrics average_precision");
        check_close(metrics.equal_error_rate, fixture["eer"], name + " binary_metrics eer");
        check_close(metrics.precision, fixture["precision"], name + " binary_metrics precision");
        check_close(metrics.recall, fixture["recall"], name + " binary_metrics recall");
        check_close(metrics.accuracy, fixture["accuracy"], name + " binary_metrics accuracy");
        check_close(metrics.f1, fixture["f1"], name + " binary_metrics f1");
        CHECK(metrics.positives == fixture["n_pos"].get<std::int64_t>());
        CHECK(metrics.negatives == fixture["n_neg"].get<std::int64_t>());

        eval::RocCurve curve = eval::roc_curve(labels, scores);
        CHECK(curve.false_positive_rate.size() == fixture["n_roc_points"].get<std::size_t>());
        CHECK(curve.true_positive_rate.size() == curve.false_positive_rate.size());
        CHECK(curve.thresholds.size() == curve.false_positive_rate.size());
        if (!fixture.contains("roc_fpr")) continue;
        std::vector<double> thresholds;
        for (const io::Json& value : fixture["roc_thresholds"])
            thresholds.push_back(value.is_null() ? infinity : value.get<double>());
        check_curve(curve.false_positive_rate, fixture["roc_fpr"].get<std::vector<double>>(), name + " fpr");
        check_curve(curve.true_positive_rate, fixture["roc_tpr"].get<std::vector<double>>(), name + " tpr");
        check_curve(curve.thresholds, thresholds, name + " thresholds");
    }
}

TEST_CASE("hand-computed metrics: separated, tied and interleaved scores") {
    SUBCASE("perfectly separated") {
        std::vector<int> labels{0, 1};
        std::vector<double> scores{0.2, 0.8};
        eval::RocCurve curve = eval::roc_curve(labels, scores);
        CHECK(curve.false_positive_rate == std::vector<double>{0, 0, 1});
        CHECK(curve.true_positive_rate == std::vector<double>{0, 1, 1});
        CHECK(curve.thresholds == std::vector<double>{infinity, 0.8, 0.2});
        CHECK(eval::roc_auc(labels, scores) == 1.0);
        CHECK(eval::average_precision(labels, scores) == 1.0);
        CHECK(eval::equal_error_rate(labels, scores) == 0.0);
    }
    SUBCASE("one tie between the classes is a diagonal segment") {
        std::vector<int> labels{0, 1};
        std::vector<double> scores{0.5, 0.5};
        eval::RocCurve curve = eval::roc_curve(labels, scores);
        CHECK(curve.false_positive_rate == std::vector<double>{0, 1});
        CHECK(curve.true_positive_rate == std::vector<double>{0, 1});
        CHECK(eval::roc_auc(labels, scores) == 0.5);
        CHECK(eval::average_precision(labels, scores) == 0.5);
        CHECK(eval::equal_error_rate(labels, scores) == 0.5);
    }
    SUBCASE("interleaved") {
        // Ranked: P 0.9, N 0.8, P 0.7, N 0.1. Pairs won by the positive: 3 of 4. Precision at
        // the two recall steps: 1/1 and 2/3. ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1): fnr meets fpr
        // at (.5,.5).
        std::vector<int> labels{1, 0, 1, 0};
        std::vector<double> scores{0.9, 0.8, 0.7, 0.1};
        CHECK(eval::roc_auc(labels, scores) == 0.75);
        check_close(eval::average_precision(labels, scores), 0.5 * 1.0 + 0.5 * 2.0 / 3.0, "average precision");
        CHECK(eval::equal_error_rate(labels, scores) == 0.5);
    }
    SUBCASE("the equal error rate interpolates between ROC points") {
        // ROC (0,0) (0,.5) (1,.5) (1,1): fpr - fnr goes from -0.5 to 0.5 between the 2nd and 3rd
        // points, halfway: fpr = 0.5.
        std::vector<int> labels{1, 0, 1};
        std::vector<double> scores{0.9, 0.5, 0.1};
        CHECK(eval::equal_error_rate(labels, scores) == 0.5);
        // ROC (0,0) (0,1/3) (1/2,1/3) (1/2,1) (1,1): d = -2/3 at the 2nd point, 1/2 - 2/3 = -1/6 at
        // the 3rd, 1/2 at the 4th; between the 3rd and 4th, t = (1/6) / (2/3) = 1/4 and fpr stays 1/2.
        std::vector<int> more_labels{1, 0, 1, 1, 0};
        std::vector<double> more_scores{0.9, 0.8, 0.7, 0.7, 0.2};
        check_close(eval::equal_error_rate(more_labels, more_scores), 0.5, "eer");
    }
}

TEST_CASE("confusion at a threshold: inclusive, and zero when undefined") {
    eval::Confusion tied = eval::confusion_at({1, 0}, {0.5, 0.5}, 0.5);
    CHECK(tied.true_positives == 1);
    CHECK(tied.false_positives == 1);
    CHECK(tied.true_negatives == 0);
    CHECK(tied.false_negatives == 0);
    CHECK(tied.precision == 0.5);
    CHECK(tied.recall == 1.0);
    CHECK(tied.accuracy == 0.5);
    check_close(tied.f1, 2.0 / 3.0, "f1");

    eval::Confusion none_predicted = eval::confusion_at({1, 0, 0}, {0.1, 0.2, 0.3}, 0.9);
    CHECK(none_predicted.true_negatives == 2);
    CHECK(none_predicted.false_negatives == 1);
    CHECK(none_predicted.precision == 0.0);
    CHECK(none_predicted.recall == 0.0);
    CHECK(none_predicted.f1 == 0.0);
    check_close(none_predicted.accuracy, 2.0 / 3.0, "accuracy");

    eval::Confusion only_negatives = eval::confusion_at({0, 0}, {0.7, 0.1});
    CHECK(only_negatives.false_positives == 1);
    CHECK(only_negatives.recall == 0.0);
    CHECK(only_negatives.accuracy == 0.5);
}

TEST_CASE("metrics per subset") {
    std::vector<int> labels{0, 1, 1, 0, 0};
    std::vector<double> scores{0.2, 0.8, 0.3, 0.6, 0.1};
    std::vector<std::string> subsets{"a", "a", "b", "b", "b"};
    auto result = eval::metrics_per_subset(labels, scores, subsets);
    REQUIRE(result.size() == 2);
    CHECK(result.at("a").roc_auc == 1.0);
    CHECK(result.at("a").positives == 1);
    CHECK(result.at("a").negatives == 1);
    // b: the positive 0.3 beats the negative 0.1 but not 0.6.
    CHECK(result.at("b").roc_auc == 0.5);
    CHECK(result.at("b").negatives == 2);
    CHECK(result.at("b").recall == 0.0);
    CHECK(result.at("b").accuracy == 1.0 / 3.0);

    // A subset of fakes only is scored against every real image; one of reals only is not reported.
    auto only_fakes = eval::metrics_per_subset({0, 1, 1, 0}, {0.1, 0.9, 0.8, 0.85}, {"a", "a", "only fakes", "reals"});
    REQUIRE(only_fakes.size() == 2);
    CHECK(only_fakes.at("only fakes").negatives == 2);
    CHECK(only_fakes.at("only fakes").roc_auc == 0.5); // 0.8 beats 0.1, not 0.85
    CHECK(only_fakes.at("a").negatives == 1);          // "a" has its own real image
    std::string message = error_message([] { eval::metrics_per_subset({1, 1}, {0.9, 0.8}, {"a", "b"}); });
    CHECK(contains(message, "subset 'a'"));
    CHECK(contains(message, "none negative (label 0)"));
    CHECK(contains(error_message([] { eval::metrics_per_subset({0, 1}, {0.1, 0.9}, {"a"}); }), "1 subset names"));

    auto rows = eval::split_by_subset(labels, scores, subsets);
    REQUIRE(rows.size() == 2);
    CHECK(rows.at("a").labels == std::vector<int>{0, 1});
    CHECK(rows.at("a").scores == std::vector<double>{0.2, 0.8});
    CHECK(rows.at("b").labels == std::vector<int>{1, 0, 0});
    CHECK(rows.at("b").scores == std::vector<double>{0.3, 0.6, 0.1});
}

TEST_CASE("real images of no subset are scored against every manipulation's fakes") {
    // Reals 0.1 and 0.5 have no subset; fakes of "Deepfakes" score 0.9, of "FaceSwap" 0.3.
    std::vector<int> labels{0, 0, 1, 1};
    std::vector<double> scores{0.1, 0.5, 0.9, 0.3};
    std::vector<std::string> subsets{"", "", "Deepfakes", "FaceSwap"};
    auto result = eval::metrics_per_subset(labels, scores, subsets);
    REQUIRE(result.size() == 2);
    CHECK(result.at("Deepfakes").roc_auc == 1.0);
    CHECK(result.at("Deepfakes").negatives == 2);
    CHECK(result.at("FaceSwap").roc_auc == 0.5); // beats 0.1, not 0.5
    auto unnamed = eval::split_by_subset(labels, scores, {"", "", "", ""});
    REQUIRE(unnamed.size() == 1);
    CHECK(unnamed.at("").labels.size() == 4);
}

TEST_CASE("metrics per video: mean frame scores") {
    std::vector<int> labels{1, 0, 1, 0, 0};
    std::vector<double> scores{0.9, 0.2, 0.5, 0.4, 0.8};
    std::vector<std::string> videos{"v1", "v2", "v1", "v2", "v3"};
    eval::VideoScores per_video = eval::video_scores(labels, scores, videos);
    CHECK(per_video.videos == std::vector<std::string>{"v1", "v2", "v3"});
    CHECK(per_video.labels == std::vector<int>{1, 0, 0});
    CHECK(per_video.frame_counts == std::vector<std::int64_t>{2, 2, 1});
    REQUIRE(per_video.scores.size() == 3);
    check_close(per_video.scores[0], 0.7, "v1");
    check_close(per_video.scores[1], 0.3, "v2");
    CHECK(per_video.scores[2] == 0.8);

    // Videos: positive 0.7 against negatives 0.3 and 0.8 wins one pair of two.
    eval::BinaryMetrics metrics = eval::video_metrics(labels, scores, videos);
    CHECK(metrics.roc_auc == 0.5);
    CHECK(metrics.positives == 1);
    CHECK(metrics.negatives == 2);
    CHECK(metrics.precision == 0.5);
    check_close(metrics.accuracy, 2.0 / 3.0, "video accuracy");

    std::string message = error_message([] { eval::video_scores({1, 0, 0}, {0.1, 0.2, 0.3}, {"x", "y", "x"}); });
    CHECK(contains(message, "video 'x'"));
    CHECK(contains(message, "labelled 1 (index 0) and 0 (index 2)"));
}

TEST_CASE("invalid inputs are errors that say what is wrong") {
    CHECK(contains(error_message([] { eval::roc_auc({0, 1}, {0.5}); }), "2 labels but 1 scores"));
    CHECK(contains(error_message([] { eval::binary_metrics({}, {}); }), "no samples"));
    CHECK(contains(error_message([] { eval::confusion_at({}, {}); }), "no samples"));
    CHECK(contains(error_message([] { eval::roc_curve({0, 2}, {0.1, 0.2}); }), "label 2 at index 1 is neither 0"));
    CHECK(contains(error_message([] {
                       eval::average_precision({0, 1}, {std::nan(""), 0.2});
                   }),
                   "score at index 0 is NaN"));

    std::string no_negatives = error_message([] { eval::roc_auc({1, 1}, {0.1, 0.2}); });
    CHECK(contains(no_negatives, "none negative (label 0)"));
    CHECK(contains(no_negatives, "ROC AUC is undefined"));
    std::string no_positives = error_message([] { eval::binary_metrics({0, 0, 0}, {0.1, 0.2, 0.3}); });
    CHECK(contains(no_positives, "none positive (label 1)"));
    CHECK(contains(error_message([] { eval::equal_error_rate({0}, {0.1}); }), "none positive"));
    CHECK(contains(error_message([] { eval::average_precision({0}, {0.1}); }), "average precision is undefined"));
    // Average precision needs positives only: without negatives every precision is 1.
    CHECK(eval::average_precision({1, 1}, {0.1, 0.2}) == 1.0);
}
