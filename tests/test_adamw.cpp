// AdamW against torch.optim.AdamW's update written out in double, over several steps; parameter
// groups, per-parameter step counts, frozen parameters, state restore, bad input, and the update
// during backward against the update after it.
#include "assertions.hpp"
#include "gradcheck.hpp"
#include "tiny_config.hpp"

#include <clipft/models/clip.hpp>
#include <clipft/ops.hpp> // Tensor::accumulate_grad adds with ops::add, defined there
#include <clipft/optim/adamw.hpp>
#include <clipft/optim/gradient_clipping.hpp>

using namespace clipft;

namespace {

Tensor<double> leaf(std::vector<double> values) {
    Tensor<double> t = Tensor<double>::from_vector(values);
    t.requires_grad_();
    return t;
}

void set_grad(Tensor<double>& parameter, std::vector<double> values) {
    parameter.zero_grad();
    parameter.accumulate_grad(Tensor<double>::from_vector(values));
}

} // namespace

TEST_CASE("AdamW follows PyTorch's update over several steps") {
    const double lr = 0.01, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, decay = 0.2;
    Tensor<double> p = leaf({0.5, -1.0, 2.0});
    optim::AdamW<double> optimizer({{{{"p", p}}, decay}}, {lr, beta1, beta2, eps});
    std::vector<double> expected{0.5, -1.0, 2.0}, m(3, 0), v(3, 0);
    std::vector<std::vector<double>> grads{{0.1, -0.2, 0.3}, {-0.5, 0.0, 1e-7}, {2.0, 1.0, -3.0}};
    for (std::size_t t = 1; t <= grads.size(); ++t) {
        set_grad(p, grads[t - 1]);
        optimizer.step();
        for (std::size_t i = 0; i < 3; ++i) {
            double g = grads[t - 1][i];
            expected[i] *= 1 - lr * decay;
            m[i] = beta1 * m[i] + (1 - beta1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            double corrected_m = m[i] / (1 - std::pow(beta1, double(t)));
            double corrected_root = std::sqrt(v[i]) / std::sqrt(1 - std::pow(beta2, double(t)));
            expected[i] -= lr * corrected_m / (corrected_root + eps);
        }
        testing::check_values(p, {3}, expected);
    }
    CHECK(optimizer.state().at("p").step == 3);
}

TEST_CASE("decay_groups exempts gains, biases, embeddings and logit_scale") {
    optim::NamedParameters<double> named{{"visual.proj", leaf({1, 2}).reshape({1, 2}).detach().requires_grad_()},
                                         {"ln_1.weight", leaf({1})},
                                         {"token_embedding.weight", Tensor<double>::ones({2, 2}).requires_grad_()},
                                         {"logit_scale", Tensor<double>::scalar(1).requires_grad_()},
                                         {"frozen.weight", Tensor<double>::ones({2, 2})}};
    auto groups = optim::decay_groups(named, 0.2);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].weight_decay == 0.2);
    REQUIRE(groups[0].parameters.size() == 1);
    CHECK(groups[0].parameters[0].first == "visual.proj");
    CHECK(groups[1].weight_decay == 0.0);
    CHECK(groups[1].parameters.size() == 3); // the frozen parameter is in neither group
    CHECK(optim::single_group(named, 0.1)[0].parameters.size() == 4);
}

TEST_CASE("parameters without a gradient are not updated and hold no moments") {
    Tensor<double> a = leaf({1.0}), b = leaf({2.0});
    optim::AdamW<double> optimizer({{{{"a", a}, {"b", b}}, 0.5}}, {0.1, 0.9, 0.999, 1e-8});
    set_grad(a, {1.0});
    optimizer.step();
    CHECK(b.item() == 2.0); // not even decayed: PyTorch skips parameters whose grad is None
    CHECK(optimizer.state().count("b") == 0);
    optimizer.zero_grad();
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("AdamW refuses frozen or repeated parameters, bad options and foreign state") {
    Tensor<double> frozen = Tensor<double>::ones({2}), p = leaf({1.0});
    CHECK(testing::error_message([&] {
              optim::AdamW<double>({{{{"f", frozen}}, 0}}, {});
          }).find("frozen") != std::string::npos);
    CHECK(testing::error_message([&] {
              optim::AdamW<double>({{{{"p", p}, {"p", p}}, 0}}, {});
          }).find("twice") != std::string::npos);
    CHECK(testing::error_message([&] {
              optim::AdamW<double>({{{{"p", p}}, 0}}, {0.1, 1.0, 0.9, 1e-8});
          }).find("betas") != std::string::npos);
    optim::AdamW<double> optimizer({{{{"p", p}}, 0}}, {});
    std::map<std::string, optim::AdamW<double>::Moments> foreign{
        {"q", {Tensor<double>::zeros({1}), Tensor<double>::zeros({1}), 1}}};
    CHECK(testing::error_message([&] { optimizer.load_state(foreign); }).find("'q'") != std::string::npos);
    std::map<std::string, optim::AdamW<double>::Moments> misshaped{
        {"p", {Tensor<double>::zeros({2}), Tensor<double>::zeros({2}), 1}}};
    CHECK(testing::error_message([&] { optimizer.load_state(misshaped); }).find("shape") != std::string::npos);
}

TEST_CASE("restored moments continue the same trajectory") {
    auto run = [](bool restore_midway) {
        Tensor<double> p = leaf({0.3, -0.7});
        auto make = [&] { return optim::AdamW<double>({{{{"p", p}}, 0.1}}, {0.05, 0.9, 0.98, 1e-6}); };
        optim::AdamW<double> optimizer = make();
        for (int t = 0; t < 4; ++t) {
            if (restore_midway && t == 2) {
                auto saved = optimizer.state();
                optimizer = make();
                optimizer.load_state(saved);
            }
            set_grad(p, {0.1 * (t + 1), -0.3 + t});
            optimizer.step();
        }
        return p.to_vector();
    };
    CHECK(run(true) == run(false));
}

TEST_CASE("clip_gradient_norm scales gradients to the global norm like clip_grad_norm_") {
    Tensor<double> a = leaf({3.0, 0.0}), b = leaf({4.0});
    set_grad(a, {3.0, 0.0});
    set_grad(b, {4.0});
    double norm = optim::clip_gradient_norm<double>({a, b}, 1.0);
    CHECK(norm == doctest::Approx(5.0));
    double coefficient = 1.0 / (5.0 + 1e-6);
    testing::check_values(a.grad(), {2}, {3 * coefficient, 0});
    testing::check_values(b.grad(), {1}, {4 * coefficient});
    // Under the limit: unchanged.
    CHECK(optim::clip_gradient_norm<double>({a, b}, 10.0) == doctest::Approx(5 * coefficient));
    testing::check_values(b.grad(), {1}, {4 * coefficient});
    CHECK(testing::error_message([&] { optim::clip_gradient_norm<double>({a}, 0.0); }).find("positive") !=
          std::string::npos);
}

TEST_CASE("backward_and_step: the parameters and moments of backward, step and zero_grad, bit for bit") {
    for (bool checkpoint : {false, true}) {
        CAPTURE(checkpoint);
        models::CLIP<double> stepped_after(testing::tiny_config()), stepped_during(testing::tiny_config());
        for (auto* model : {&stepped_after, &stepped_during}) {
            testing::randomize_parameters(*model, 1, 0.5);
            model->visual.transformer.checkpoint_activations = model->text.transformer.checkpoint_activations =
                checkpoint;
        }
        Tensor<double> pixels = testing::random_tensor({2, 3, 4, 4}, 100);
        Tensor<std::int64_t> ids = Tensor<std::int64_t>::from_vector({1, 2, 7, 0, 3, 7, 0, 0}).reshape({2, 4});
        auto loss = [&](const models::CLIP<double>& model) {
            Tensor<double> logits = model.logits(model.encode_image(pixels), model.encode_text(ids));
            return ops::sum(logits * logits);
        };
        std::vector<std::vector<double>> initial;
        for (auto& [name, parameter] : stepped_during.named_parameters()) initial.push_back(parameter.to_vector());
        const optim::AdamWOptions options{1e-2, 0.9, 0.98, 1e-6};
        optim::AdamW<double> after(optim::decay_groups(stepped_after.named_parameters(), 0.2), options);
        optim::AdamW<double> during(optim::decay_groups(stepped_during.named_parameters(), 0.2), options);
        for (int step = 0; step < 3; ++step) {
            loss(stepped_after).backward();
            after.step();
            after.zero_grad();
            during.backward_and_step(loss(stepped_during));
        }
        auto expected = stepped_after.named_parameters(), actual = stepped_during.named_parameters();
        REQUIRE(expected.size() == actual.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CAPTURE(expected[i].first);
            CHECK(actual[i].second.to_vector() == expected[i].second.to_vector());
            CHECK(actual[i].second.to_vector() != initial[i]); // updated, not two untouched models
            CHECK_FALSE(actual[i].second.grad().defined());
            const auto& moments = during.state().at(expected[i].first);
            CHECK(moments.step == 3);
            CHECK(moments.exp_avg_sq.to_vector() == after.state().at(expected[i].first).exp_avg_sq.to_vector());
        }
    }
}
