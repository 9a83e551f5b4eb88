// Frozen-feature heads (include/clipft/heads/): the logistic-regression objective's gradient by
// finite differences, fitted probabilities and kNN probabilities against scikit-learn
// (tests/references/heads.json, made by make_heads_references.py), probe files, alpha lists.
#include <clipft/heads/interpolate.hpp>
#include <clipft/heads/logistic_regression.hpp>
#include <clipft/heads/nearest_neighbors.hpp>
#include <clipft/heads/probe_file.hpp>
#include <clipft/io/json.hpp>
#include <clipft/random.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::error_message;

namespace {

struct ReferenceCase {
    std::string name;
    double C = 1;
    std::int64_t classes = 2, width = 0;
    Tensor<float> train, test;
    std::vector<std::int64_t> labels;
    std::vector<double> logistic;                                  // [test, classes]
    std::vector<std::pair<std::int64_t, std::vector<double>>> knn; // k, [test, classes]
};

Tensor<float> float_matrix(const io::Json& values, std::int64_t width) {
    std::vector<float> data;
    for (const io::Json& value : values) data.push_back(float(value.get<double>()));
    return Tensor<float>::from_vector(data, {std::int64_t(data.size()) / width, width});
}

std::vector<ReferenceCase> reference_cases() {
    io::Json json = io::read_json_file(std::filesystem::path(CLIPFT_SOURCE_DIR) / "tests/references/heads.json");
    std::vector<ReferenceCase> cases;
    for (const io::Json& item : json["cases"]) {
        ReferenceCase c;
        c.name = item["name"];
        c.C = item["C"];
        c.classes = item["classes"];
        c.width = item["width"];
        c.train = float_matrix(item["train_features"], c.width);
        c.test = float_matrix(item["test_features"], c.width);
        c.labels = item["train_labels"].get<std::vector<std::int64_t>>();
        c.logistic = item["logistic_test_probabilities"].get<std::vector<double>>();
        for (const io::Json& knn : item["knn"])
            c.knn.emplace_back(knn["k"].get<std::int64_t>(), knn["test_probabilities"].get<std::vector<double>>());
        cases.push_back(std::move(c));
    }
    return cases;
}

// Random unit rows and labels in 0..classes-1.
std::pair<Tensor<float>, std::vector<std::int64_t>> random_problem(std::int64_t n, std::int64_t d, std::int64_t classes,
                                                                   std::uint64_t seed) {
    Generator generator(seed);
    Tensor<float> x = Tensor<float>::empty({n, d});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = float(generator.normal());
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < n; ++i)
        labels.push_back(std::int64_t(generator.uniform_integer(std::uint64_t(classes))));
    return {ops::l2_normalize(x).contiguous(), labels};
}

} // namespace

TEST_CASE("logistic objective: value and gradient against finite differences in double") {
    auto [x, labels] = random_problem(37, 5, 3, 11);
    heads::LogisticObjective objective(x, labels, 3, 2.5);
    Generator generator(3);
    std::vector<double> theta(objective.parameter_count()), gradient, ignored;
    for (double& value : theta) value = generator.normal();
    double value = objective(theta, gradient);

    // The value from its definition: C * sum CE + 1/2 ||W||^2.
    double expected = 0;
    for (std::int64_t i = 0; i < 37; ++i) {
        std::vector<double> z(3);
        for (std::int64_t c = 0; c < 3; ++c) {
            z[std::size_t(c)] = theta[std::size_t(15 + c)];
            for (std::int64_t j = 0; j < 5; ++j)
                z[std::size_t(c)] += theta[std::size_t(c * 5 + j)] * double(x.at({i, j}));
        }
        double normaliser = 0;
        for (double v : z) normaliser += std::exp(v);
        expected += 2.5 * (std::log(normaliser) - z[std::size_t(labels[std::size_t(i)])]);
    }
    for (std::size_t p = 0; p < 15; ++p) expected += 0.5 * theta[p] * theta[p];
    CHECK(value == doctest::Approx(expected).epsilon(1e-12));

    const double h = 1e-6;
    for (std::size_t p = 0; p < theta.size(); ++p) {
        std::vector<double> plus = theta, minus = theta;
        plus[p] += h, minus[p] -= h;
        double numeric = (objective(plus, ignored) - objective(minus, ignored)) / (2 * h);
        CHECK_MESSAGE(std::abs(numeric - gradient[p]) <= 1e-6 * (1 + std::abs(numeric)),
                      "parameter " << p << ": " << gradient[p] << " vs " << numeric);
    }
}

TEST_CASE(
    "logistic regression: probabilities equal scikit-learn's at two C values, unbalanced and with three classes") {
    for (const ReferenceCase& c : reference_cases()) {
        heads::LogisticRegressionFit fit = heads::fit_logistic_regression(c.train, c.labels, c.classes, {.C = c.C});
        CHECK_MESSAGE(fit.converged, c.name);
        std::vector<float> p = fit.probe.probabilities(c.test).to_vector();
        REQUIRE(p.size() == c.logistic.size());
        double worst = 0;
        for (std::size_t i = 0; i < p.size(); ++i) worst = std::max(worst, std::abs(double(p[i]) - c.logistic[i]));
        CHECK_MESSAGE(worst <= 2e-4, c.name << ": largest probability difference " << worst); // the issue asks 2e-3
        // Biases centred, as scikit-learn's solver leaves them.
        double bias_sum = 0;
        for (float b : fit.probe.bias.to_vector()) bias_sum += b;
        CHECK(std::abs(bias_sum) < 1e-5);
    }
}

TEST_CASE("logistic regression: a zero-shot start reaches the same optimum; the fit is deterministic") {
    ReferenceCase c = reference_cases().front();
    heads::LogisticRegressionFit plain = heads::fit_logistic_regression(c.train, c.labels, 2, {.C = c.C});
    heads::LogisticRegressionFit again = heads::fit_logistic_regression(c.train, c.labels, 2, {.C = c.C});
    CHECK(plain.probe.weight.to_vector() == again.probe.weight.to_vector());
    heads::LinearProbe start{Tensor<float>::full({2, c.width}, 3.0f), Tensor<float>::from_vector({1.0f, -1.0f})};
    heads::LogisticRegressionFit started =
        heads::fit_logistic_regression(c.train, c.labels, 2, {.C = c.C, .initial = start});
    std::vector<float> a = plain.probe.probabilities(c.test).to_vector(),
                       b = started.probe.probabilities(c.test).to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) < 1e-5);
    CHECK(started.objective == doctest::Approx(plain.objective).epsilon(1e-10));
}

TEST_CASE("logistic regression: bad input is refused with a message") {
    auto [x, labels] = random_problem(10, 4, 2, 1);
    CHECK(error_message([&] {
              heads::fit_logistic_regression(x, {0, 1}, 2);
          }).find("2 labels for 10 feature rows") != std::string::npos);
    std::vector<std::int64_t> bad = labels;
    bad[3] = 2;
    CHECK(error_message([&] { heads::fit_logistic_regression(x, bad, 2); }).find("label 2 of row 3") !=
          std::string::npos);
    CHECK(error_message([&] {
              heads::fit_logistic_regression(x, labels, 2, {.C = -1});
          }).find("C must be a positive") != std::string::npos);
    Tensor<float> broken = x.clone();
    broken.data()[9] = NAN;
    CHECK(error_message([&] { heads::fit_logistic_regression(broken, labels, 2); }).find("row 2 holds a non-finite") !=
          std::string::npos);
}

TEST_CASE("kNN: probabilities equal scikit-learn's (cosine, brute force)") {
    for (const ReferenceCase& c : reference_cases())
        for (const auto& [k, expected] : c.knn) {
            heads::NearestNeighbors knn{c.train, c.labels, c.classes, k};
            std::vector<float> p = knn.probabilities(c.test).to_vector();
            REQUIRE(p.size() == expected.size());
            std::int64_t equal = 0, rows = std::int64_t(p.size()) / c.classes;
            for (std::int64_t r = 0; r < rows; ++r) {
                bool same = true;
                for (std::int64_t j = 0; j < c.classes; ++j)
                    same &=
                        std::abs(p[std::size_t(r * c.classes + j)] - expected[std::size_t(r * c.classes + j)]) < 1e-6;
                equal += same;
            }
            CHECK_MESSAGE(equal == rows, c.name << ", k = " << k << ": " << equal << " of " << rows << " rows equal");
        }
}

TEST_CASE("kNN: ties go to the earlier training row; k outside 1..N is refused") {
    Tensor<float> train = Tensor<float>::from_vector({1, 0, 1, 0, 0, 1}, {3, 2});
    heads::NearestNeighbors knn{train, {1, 0, 0}, 2, 1};
    CHECK(knn.probabilities(Tensor<float>::from_vector({2, 0}, {1, 2})).to_vector() == std::vector<float>{0, 1});
    knn.k = 4;
    CHECK(error_message([&] { knn.probabilities(train); }).find("k = 4 neighbours, but there are 3") !=
          std::string::npos);
}

TEST_CASE("probe files: linear and kNN probes round-trip; broken ones are refused naming the file") {
    testing::TemporaryDirectory folder;
    heads::Probe linear{
        "logistic",
        {"real", "fake"},
        heads::LinearProbe{Tensor<float>::from_vector({1, 2, 3, 4}, {2, 2}), Tensor<float>::from_vector({0.5f, -0.5f})},
        std::nullopt,
        {{"C", "1"}}};
    linear.save(folder / "linear.safetensors");
    heads::Probe loaded = heads::Probe::load(folder / "linear.safetensors");
    CHECK(loaded.method == "logistic");
    CHECK(loaded.classes == std::vector<std::string>{"real", "fake"});
    CHECK(loaded.metadata.at("C") == "1");
    Tensor<float> x = Tensor<float>::from_vector({0.6f, 0.8f}, {1, 2});
    CHECK(loaded.probabilities(x).to_vector() == linear.probabilities(x).to_vector());
    float z0 = 0.5f + 0.6f * 1 + 0.8f * 2, z1 = -0.5f + 0.6f * 3 + 0.8f * 4;
    CHECK(loaded.probabilities(x).at({0, 1}) == doctest::Approx(1 / (1 + std::exp(z0 - z1))).epsilon(1e-6));

    heads::Probe knn{"knn",
                     {"real", "fake"},
                     std::nullopt,
                     heads::NearestNeighbors{Tensor<float>::from_vector({1, 0, 0, 1}, {2, 2}), {0, 1}, 2, 1},
                     {}};
    knn.save(folder / "knn.safetensors");
    CHECK(heads::Probe::load(folder / "knn.safetensors").probabilities(x).to_vector() == std::vector<float>{0, 1});

    io::save_safetensors(folder / "other.safetensors", {{"weight", Tensor<float>::zeros({2, 2})}});
    CHECK(error_message([&] { heads::Probe::load(folder / "other.safetensors"); }).find("not a probe file") !=
          std::string::npos);
    io::save_safetensors(folder / "nobias.safetensors", {{"probe.weight", Tensor<float>::zeros({2, 2})}},
                         {{"classes", "real,fake"}});
    CHECK(error_message([&] { heads::Probe::load(folder / "nobias.safetensors"); }).find("no tensor 'probe.bias'") !=
          std::string::npos);
    std::string bytes = testing::read_bytes(folder / "linear.safetensors");
    testing::write_bytes(folder / "truncated.safetensors", bytes.substr(0, bytes.size() - 5));
    CHECK(error_message([&] { heads::Probe::load(folder / "truncated.safetensors"); }).find("truncated.safetensors") !=
          std::string::npos);
}

TEST_CASE("alpha lists: ranges, lists and progressions") {
    CHECK(heads::parse_alphas("0:1:0.25") == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    std::vector<double> tenths = heads::parse_alphas("0:1:0.1");
    REQUIRE(tenths.size() == 11);
    CHECK(tenths[3] == 0.3);
    CHECK(heads::parse_alphas("0,0.1,...,1") == tenths);
    CHECK(heads::parse_alphas("0.5") == std::vector<double>{0.5});
    CHECK(heads::parse_alphas("0,0.3,1") == std::vector<double>{0, 0.3, 1});
    CHECK(heads::alpha_text(0.3) == "0.3");
    CHECK(heads::alpha_text(1) == "1");
    CHECK(error_message([] { heads::parse_alphas("0,x"); }).find("'x' is not a number") != std::string::npos);
    CHECK(error_message([] { heads::parse_alphas("1:0:0.1"); }).find("step must be positive") != std::string::npos);
}
