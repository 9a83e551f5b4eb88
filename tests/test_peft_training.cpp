// Training with adapters: Effort's SVD-residual regularisers (nn/adapters/svd_residual.hpp) by finite
// differences in double and against the paper's terms on the whole bases, the trainer's extra loss
// (TrainerOptions::extra_loss), and a resumed run with LoRA dropout continuing bit for bit.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "gradcheck.hpp"
#include "training_data.hpp"

#include <clipft/models/adapters.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/train/trainer.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using testing::deepfake_descriptions;
using testing::generated_images;
using testing::small_run;

namespace {

// `tensor` plus uniform noise in [-scale, scale): a contiguous leaf.
Tensor<double> moved(const Tensor<double>& tensor, unsigned seed, double scale) {
    return tensor.detach() + testing::random_tensor(tensor.shape(), seed, -scale, scale);
}

double squared_norm(const Tensor<double>& matrix) { return ops::sum(matrix * matrix).item(); }

Tensor<double> identity(std::int64_t size) {
    Tensor<double> result = Tensor<double>::zeros({size, size});
    for (std::int64_t i = 0; i < size; ++i) result.data()[i * size + i] = 1;
    return result;
}

std::unique_ptr<models::CLIP<float>> frozen_tiny_model() {
    auto model = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
    for (auto& [name, parameter] : model->named_parameters()) parameter.requires_grad_(false);
    return model;
}

} // namespace

TEST_CASE("SVD-residual regularisers: gradients by finite differences in double") {
    for (Shape shape : {Shape{6, 4}, Shape{4, 6}, Shape{5, 5}}) {
        CAPTURE(shape);
        Tensor<double> weight = testing::random_tensor(shape, 3);
        nn::SVDResidual<double> residual(weight, 2, true);
        // Away from the decomposition, where every term has a gradient and |·| is smooth.
        std::vector<Tensor<double>> factors = {moved(residual.svd_U, 4, 0.2), moved(residual.svd_S, 5, 0.2),
                                               moved(residual.svd_V, 6, 0.2)};
        testing::check_gradients(
            [&](const std::vector<Tensor<double>>& x) {
                residual.svd_U = x[0], residual.svd_V = x[1];
                return residual.orthogonality_penalty();
            },
            {factors[0], factors[2]});
        testing::check_gradients(
            [&](const std::vector<Tensor<double>>& x) {
                residual.svd_U = x[0], residual.svd_S = x[1], residual.svd_V = x[2];
                Tensor<double> penalty = residual.singular_value_penalty(weight);
                REQUIRE(penalty.item() > 1e-3);
                return penalty;
            },
            factors);
    }
}

TEST_CASE("SVD-residual regularisers: the paper's terms on the whole bases, zero at the start") {
    for (Shape shape : {Shape{6, 4}, Shape{4, 6}, Shape{5, 5}}) {
        CAPTURE(shape);
        const std::int64_t out = shape[0], in = shape[1], k = std::min(out, in), rank = 2;
        Tensor<double> weight = testing::random_tensor(shape, 7);
        nn::SVDResidual<double> residual(weight, rank, true);
        CHECK(residual.orthogonality_penalty().item() <= 1e-24);
        CHECK(residual.singular_value_penalty(weight).item() == 0.0); // exactly: the change is zero
        {
            NoGradGuard no_grad;
            residual.svd_U.copy_(moved(residual.svd_U, 8, 0.3));
            residual.svd_S.copy_(moved(residual.svd_S, 9, 0.3));
            residual.svd_V.copy_(moved(residual.svd_V, 10, 0.3));
        }
        NoGradGuard no_grad;
        // Û = [U_principal, U_R] [out, k], V̂ = [V_principal; V_R] [k, in], Ŵ = U_p·Σ_p·V_p + U_R·Σ_R·V_R.
        auto svd = nn::singular_value_decomposition(weight);
        Tensor<double> u_hat = Tensor<double>::empty({out, k}), v_hat = Tensor<double>::empty({k, in});
        u_hat.narrow(1, 0, k - rank).copy_(svd.U.narrow(1, 0, k - rank));
        u_hat.narrow(1, k - rank, rank).copy_(residual.svd_U);
        v_hat.narrow(0, 0, k - rank).copy_(svd.Vt.narrow(0, 0, k - rank));
        v_hat.narrow(0, k - rank, rank).copy_(residual.svd_V);
        const double orthogonality = squared_norm(ops::matmul(u_hat.transpose(0, 1), u_hat) - identity(k)) +
                                     squared_norm(ops::matmul(v_hat, v_hat.transpose(0, 1)) - identity(k));
        Tensor<double> principal =
            ops::matmul(svd.U.narrow(1, 0, k - rank) * svd.S.narrow(0, 0, k - rank), svd.Vt.narrow(0, 0, k - rank));
        Tensor<double> adapted = principal + ops::matmul(residual.svd_U * residual.svd_S, residual.svd_V);
        const double energy = std::abs(squared_norm(adapted) - squared_norm(weight));
        CHECK(orthogonality > 0.1);
        CHECK(energy > 0.01);
        CHECK(residual.orthogonality_penalty().item() == doctest::Approx(orthogonality).epsilon(1e-10));
        CHECK(residual.singular_value_penalty(weight).item() == doctest::Approx(energy).epsilon(1e-10));
    }
    nn::SVDResidual<double> plain(testing::random_tensor({4, 4}, 1), 2);
    CHECK_THROWS_WITH_AS(plain.orthogonality_penalty(), doctest::Contains("keep_principal_basis"), Error);
    CHECK_THROWS_WITH_AS(plain.singular_value_penalty(testing::random_tensor({4, 5}, 1)),
                         doctest::Contains("shape [4, 5]"), Error);
}

TEST_CASE("svd_residual_penalty on tiny-a: about zero at the start, positive with gradients once the residuals move") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    auto model = frozen_tiny_model();
    CHECK_THROWS_WITH_AS(models::svd_residual_penalty(*model), doctest::Contains("no SVD-residual adapter"), Error);
    models::AdapterOptions options;
    options.method = models::AdapterMethod::svd;
    options.lora.rank = 2;
    options.svd_principal_basis = true;
    Generator generator(1);
    models::attach_adapters(*model, options, generator);
    CHECK(models::svd_residual_penalty(*model).item() < 1e-8); // float rounding of the orthonormal bases
    unsigned seed = 20;
    for (auto& site : models::attached_adapter_sites(*model))
        for (auto& [name, parameter] : site.adapter()->named_parameters()) {
            NoGradGuard no_grad;
            parameter.copy_(parameter + testing::random_tensor(parameter.shape(), seed++, -0.05, 0.05).to<float>());
        }
    Tensor<float> penalty = models::svd_residual_penalty(*model);
    CHECK(penalty.item() > 1e-3);
    penalty.backward();
    for (auto& site : models::attached_adapter_sites(*model))
        for (auto& [name, parameter] : site.adapter()->named_parameters()) {
            CAPTURE(site.openai_name);
            CAPTURE(name);
            CHECK(parameter.grad().defined());
        }
    auto without_basis = frozen_tiny_model();
    options.svd_principal_basis = false;
    models::attach_adapters(*without_basis, options, generator);
    CHECK_THROWS_WITH_AS(models::svd_residual_penalty(*without_basis), doctest::Contains("keep_principal_basis"),
                         Error);
}

TEST_CASE(
    "Trainer extra_loss: its gradient trains, the logged loss includes it, a term without gradient changes nothing") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    // Row 5 of the token embedding ('&') is in no description: the group loss leaves it as it is.
    auto unused_row = [](models::CLIP<float>& model) { return model.text.token_embedding.weight.select(0, 5); };
    struct Run {
        std::vector<float> parameters, row;
        std::vector<double> logged;
    };
    auto run = [&](const std::function<Tensor<float>(models::CLIP<float>&)>& extra) {
        testing::TemporaryDirectory folder;
        auto model = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
        train::TrainerOptions options = small_run(folder.path());
        options.max_steps = 2;
        options.log_every = 1;
        if (extra) options.extra_loss = [&] { return extra(*model); };
        train::Trainer trainer(*model, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                               options);
        trainer.run();
        Run result{{}, unused_row(*model).to_vector(), {}};
        for (const auto& [name, parameter] : model->named_parameters()) {
            std::vector<float> values = parameter.to_vector();
            result.parameters.insert(result.parameters.end(), values.begin(), values.end());
        }
        for (const io::Json& record : trainer.history())
            if (record.at("kind") == "train") result.logged.push_back(record.at("loss").get<double>());
        return result;
    };
    const std::vector<float> initial_row =
        unused_row(*models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"))).to_vector();
    const Run plain = run(nullptr);
    REQUIRE(plain.logged.size() == 2);
    CHECK(plain.row == initial_row);
    // A constant (times zero of a parameter, so that it has a graph): the same updates, bit for bit;
    // each logged loss 5 higher.
    const Run constant = run([](models::CLIP<float>& model) { return model.logit_scale * 0.0f + 5.0f; });
    CHECK(constant.parameters == plain.parameters);
    for (std::size_t i = 0; i < plain.logged.size(); ++i)
        CHECK(constant.logged[i] == doctest::Approx(plain.logged[i] + 5).epsilon(1e-9));
    // A penalty on the unused row moves it.
    const Run penalised = run([&](models::CLIP<float>& model) {
        Tensor<float> row = unused_row(model);
        return ops::sum(row * row);
    });
    CHECK(penalised.row != initial_row);
    CHECK(penalised.logged[0] > plain.logged[0]);
}

TEST_CASE("LoRA dropout: a resumed run draws the masks the uninterrupted one would, bit for bit") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    auto adapted = [] {
        auto model = frozen_tiny_model();
        models::AdapterOptions options;
        options.lora = {.rank = 2, .alpha = 4, .dropout = 0.5};
        Generator generator(3);
        models::attach_adapters(*model, options, generator);
        return model;
    };
    auto adapter_values = [](models::CLIP<float>& model) {
        std::map<std::string, std::vector<float>> values;
        for (const auto& [name, parameter] : model.named_parameters())
            if (name.find("adapter.") != std::string::npos) values[name] = parameter.to_vector();
        return values;
    };
    auto options = [](const std::filesystem::path& folder, std::int64_t steps) {
        train::TrainerOptions run = small_run(folder);
        run.max_steps = steps;
        run.schedule = optim::LearningRateSchedule::constant_rate(1e-2);
        return run;
    };
    testing::TemporaryDirectory straight, halves;
    auto one = adapted();
    REQUIRE(one->named_generators().size() == 2 * 2 * 2); // q and v of 2 blocks in each tower
    train::Trainer(*one, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                   options(straight.path(), 4))
        .run();
    auto first = adapted();
    train::Trainer(*first, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                   options(halves.path(), 2))
        .run();
    auto second = adapted();
    train::Trainer resumed(*second, generated_images(16, 1), generated_images(8, 2), deepfake_descriptions(),
                           options(halves.path(), 4));
    resumed.resume(halves / "checkpoint.safetensors");
    resumed.run();
    auto expected = adapter_values(*one), got = adapter_values(*second), fresh = adapter_values(*adapted());
    REQUIRE(expected.size() == 2 * 2 * 2 * 2);
    CHECK(expected != fresh); // the adapters trained
    for (const auto& [name, values] : expected) {
        CAPTURE(name);
        CHECK(got.at(name) == values);
    }
}
