// The autograd engine: accumulation, scopes, graph lifetime, views.
#include "gradcheck.hpp"

#include <cmath>
#include <map>
#include <utility>
#include <vector>

using namespace clipft;

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
    auto x = Tensor<double>::from_vector({1, 2, 3});
    x.requires_grad_();
    sum(x * x).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
    sum(x * 3.0).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a tensor used twice receives the sum of both gradients") {
    auto x = Tensor<double>::from_vector({2});
    x.requires_grad_();
    auto y = x * x + x; // dy/dx = 2x + 1
    y.backward(Tensor<double>::ones({1}));
    CHECK(x.grad().item() == 5.0);
}

TEST_CASE("no_grad records nothing; detach cuts the graph") {
    auto x = Tensor<float>::ones({2});
    x.requires_grad_();
    {
        NoGradGuard no_grad;
        auto y = x * 2.0f;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
    }
    CHECK(GradMode::is_enabled());
    auto d = (x * 2.0f).detach();
    CHECK_FALSE(d.requires_grad());
    auto y = sum(d * x);
    y.backward();
    CHECK(x.grad().to_vector() == std::vector<float>{2, 2});
}

TEST_CASE("GradModeGuard sets the mode for its scope and restores the one before, nested") {
    auto x = Tensor<float>::ones({2});
    x.requires_grad_();
    {
        NoGradGuard no_grad;
        {
            GradModeGuard recording(true);
            CHECK(GradMode::is_enabled());
            CHECK((x * 2.0f).requires_grad());
        }
        CHECK_FALSE(GradMode::is_enabled());
        CHECK_FALSE((x * 2.0f).requires_grad());
        {
            GradModeGuard off(false);
            CHECK_FALSE(GradMode::is_enabled());
        }
        CHECK_FALSE(GradMode::is_enabled());
    }
    CHECK(GradMode::is_enabled());
}

TEST_CASE("only leaves can change requires_grad; outputs of recorded ops require gradients") {
    auto x = Tensor<float>::ones({2});
    auto plain = x * 2.0f;
    CHECK_FALSE(plain.requires_grad());
    x.requires_grad_();
    auto y = x * 2.0f;
    CHECK(y.requires_grad());
    CHECK_FALSE(y.is_leaf());
    CHECK_THROWS_AS(y.requires_grad_(false), Error);
    CHECK_THROWS_AS(sum(plain).backward(), Error);
}

TEST_CASE("backward twice through a freed graph raises; retain_graph allows it") {
    auto x = Tensor<double>::from_vector({1, 2});
    x.requires_grad_();
    auto loss = sum(exp(x));
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("already freed"), Error);

    x.zero_grad();
    auto kept = sum(exp(x));
    kept.backward({}, true);
    kept.backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2 * std::exp(1.0)));
}

TEST_CASE("backward needs a scalar or an explicit gradient of the right shape") {
    auto x = Tensor<double>::ones({2, 2});
    x.requires_grad_();
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("not a scalar"), Error);
    CHECK_THROWS_AS(y.backward(Tensor<double>::ones({4})), Error);
    y.backward(Tensor<double>::ones({2, 2}));
    CHECK(x.grad().to_vector() == std::vector<double>{2, 2, 2, 2});
}

TEST_CASE("the graph is freed after backward") {
    auto x = Tensor<double>::ones({3});
    x.requires_grad_();
    auto y = exp(x);
    std::weak_ptr<Node<double>> node = y.grad_fn();
    auto loss = sum(y);
    y = Tensor<double>();
    loss.backward();
    loss = Tensor<double>();
    CHECK(node.expired());
}

TEST_CASE("gradients flow back through every kind of view") {
    using testing::check_gradients;
    using testing::random_tensor;
    auto x = random_tensor({3, 4, 2}, 1);
    check_gradients([](const auto& in) { return in[0].reshape({4, 6}) * 2.0; }, {x});
    check_gradients([](const auto& in) { return exp(in[0].permute({2, 0, 1})); }, {x});
    check_gradients([](const auto& in) { return in[0].transpose(0, 1).contiguous(); }, {x});
    check_gradients([](const auto& in) { return tanh(in[0].narrow(1, 1, 2)); }, {x});
    check_gradients([](const auto& in) { return in[0].select(1, 3) * in[0].select(1, 0); }, {x});
    check_gradients([](const auto& in) { return in[0].unsqueeze(0).expand({2, 3, 4, 2}) * 1.5; }, {x});
    check_gradients([](const auto& in) { return sigmoid(in[0].flatten(0, 1).squeeze(-1).narrow(0, 2, 3)); },
                    {random_tensor({3, 4, 1}, 2)});
}

TEST_CASE("a view of a view and the base both feed the same leaf") {
    auto x = Tensor<double>::from_vector({1, 2, 3, 4}, {2, 2});
    x.requires_grad_();
    auto y = sum(x.transpose(0, 1).select(0, 1) * 10.0) + sum(x);
    y.backward();
    CHECK(x.grad().to_vector() == std::vector<double>{1, 11, 1, 11});
}

TEST_CASE(".grad never aliases a tensor the caller still holds") {
    auto x = Tensor<double>::ones({3});
    x.requires_grad_();
    auto upstream = Tensor<double>::full({3}, 2.0);
    x.backward(upstream);
    CHECK_FALSE(x.grad().shares_storage_with(upstream));
    auto y = x * 1.0;
    y.backward(upstream);
    CHECK_FALSE(x.grad().shares_storage_with(upstream));
    x.grad().fill_(0.0);
    CHECK(upstream.to_vector() == std::vector<double>{2, 2, 2});
}

TEST_CASE("GradientCompleteGuard reports each leaf once, after its last gradient arrived, outermost backward only") {
    auto x = Tensor<double>::from_vector({2});
    auto w = Tensor<double>::from_vector({3});
    auto unused = Tensor<double>::from_vector({1});
    for (auto* t : {&x, &w, &unused}) t->requires_grad_();
    std::vector<std::pair<const TensorImpl<double>*, double>> reports; // leaf, its gradient when reported
    GradientCompleteGuard<double> listening([&](const std::shared_ptr<TensorImpl<double>>& leaf) {
        Tensor<double> grad = Tensor<double>(leaf).grad();
        reports.emplace_back(leaf.get(), grad.defined() ? grad.item() : std::nan(""));
    });
    // x is used three times (twice inside a checkpoint, whose recomputation runs a backward of its
    // own), w once, `unused` only behind a node that no gradient reaches.
    auto inner = checkpointed("test", [&](const Tensor<double>& a) { return a * x * x; }, w, {x});
    Tensor<double> ignored = Tensor<double>::zeros({1});
    record<double>("ignores its first input", ignored, {unused * 3.0, w}, [](const Tensor<double>& grad) {
        return std::vector<Tensor<double>>{Tensor<double>(), grad * 0.0};
    });
    auto y = inner + x * 2.0 + ignored; // dy/dx = 2 w x + 2, dy/dw = x^2
    y.backward(Tensor<double>::ones({1}));
    REQUIRE(reports.size() == 3);
    std::map<const TensorImpl<double>*, double> by_leaf(reports.begin(), reports.end());
    REQUIRE(by_leaf.size() == 3);
    CHECK(by_leaf.at(x.impl().get()) == 14.0);
    CHECK(by_leaf.at(w.impl().get()) == 4.0);
    CHECK(std::isnan(by_leaf.at(unused.impl().get()))); // reported, with no gradient
    // A leaf as the root itself.
    reports.clear();
    unused.backward(Tensor<double>::ones({1}));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].first == unused.impl().get());
}

TEST_CASE("GradientCompleteGuard restores the callback before it when it ends") {
    int outer_reports = 0, inner_reports = 0;
    auto x = Tensor<double>::from_vector({1});
    x.requires_grad_();
    GradientCompleteGuard<double> outer([&](const auto&) { ++outer_reports; });
    {
        GradientCompleteGuard<double> inner([&](const auto&) { ++inner_reports; });
        sum(x * 2.0).backward();
    }
    sum(x * 2.0).backward();
    CHECK(inner_reports == 1);
    CHECK(outer_reports == 1);
}
