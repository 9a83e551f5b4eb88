// Adapters (nn/adapters/, models/adapters.hpp): gradients by finite differences in double, merged
// equal to unmerged, the decomposition, parameter counts and ranks, the adapter file, and LoRA and
// one SVD-residual step against PyTorch on tiny-a (tests/references/peft_reference.py wrote
// tests/references/peft_reference.safetensors).
#include "assertions.hpp"
#include "fixtures.hpp"
#include "gradcheck.hpp"

#include <clipft/models/adapters.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/models/initialize.hpp>
#include <clipft/optim/adamw.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using testing::excess;

namespace {

template <Floating T> void fill_random(Tensor<T> tensor, unsigned seed, double scale) {
    NoGradGuard no_grad;
    tensor.copy_(testing::random_tensor(tensor.shape(), seed, -scale, scale).template to<T>());
}

std::filesystem::path reference_path() {
    return std::filesystem::path(CLIPFT_SOURCE_DIR) / "tests/references/peft_reference.safetensors";
}

// Every adapter parameter of `model` given random values, so that each adapter changes its weight.
void perturb_adapters(models::CLIP<float>& model, unsigned seed) {
    for (auto& site : models::attached_adapter_sites(model))
        for (auto& [name, parameter] : site.adapter()->named_parameters()) fill_random(parameter, seed++, 0.05);
}

std::pair<Tensor<float>, Tensor<float>> embeddings(const models::CLIP<float>& model,
                                                   const io::SafetensorsFile& inputs) {
    return {model.encode_image(inputs.get<float>("pixel_values")),
            model.encode_text(inputs.get<std::int64_t>("input_ids"))};
}

template <Floating T> void freeze(nn::Module<T>& module) {
    for (auto& [name, parameter] : module.named_parameters()) parameter.requires_grad_(false);
}

} // namespace

TEST_CASE("adapter gradients by finite differences: LoRA and SVD residual on q, v and out_proj of an attention") {
    nn::MultiheadAttention<double> attention(6, 2);
    fill_random(attention.in_proj_weight, 1, 0.5);
    fill_random(attention.in_proj_bias, 2, 0.1);
    fill_random(attention.out_proj.weight, 3, 0.5);
    freeze(attention);
    Generator generator(5);
    auto q = std::make_shared<nn::LoRA<double>>(6, 6, nn::LoRAOptions{.rank = 2, .alpha = 3}, generator);
    auto v = std::make_shared<nn::SVDResidual<double>>(attention.in_proj_weight.detach().narrow(0, 12, 6), 2);
    auto out = std::make_shared<nn::LoRA<double>>(6, 6, nn::LoRAOptions{.rank = 3}, generator);
    attention.set_projection_adapter(0, q);
    attention.set_projection_adapter(2, v);
    attention.out_proj.set_adapter(out);
    std::vector<Tensor<double>> inputs = {
        testing::random_tensor({2, 3, 6}, 7),    testing::random_tensor({2, 6}, 8),
        testing::random_tensor({6, 2}, 9),       testing::random_tensor({6, 2}, 10, -0.5, 0.5),
        testing::random_tensor({2}, 11, 0.5, 1), testing::random_tensor({2, 6}, 12, -0.5, 0.5),
        testing::random_tensor({3, 6}, 13),      testing::random_tensor({6, 3}, 14)};
    testing::check_gradients(
        [&](const std::vector<Tensor<double>>& x) {
            q->lora_A = x[1], q->lora_B = x[2];
            v->svd_U = x[3], v->svd_S = x[4], v->svd_V = x[5];
            out->lora_A = x[6], out->lora_B = x[7];
            return attention(x[0], ops::causal_mask<double>(3));
        },
        inputs);
}

TEST_CASE("an adapted layer equals the merged one; a fresh adapter changes nothing") {
    for (const char* method : {"lora", "svd"}) {
        CAPTURE(method);
        nn::Linear<double> layer(5, 4);
        fill_random(layer.weight, 1, 1.0);
        fill_random(layer.bias, 2, 1.0);
        Tensor<double> x = testing::random_tensor({3, 5}, 3), before = layer(x);
        Generator generator(1);
        nn::AdapterHandle<double> adapter;
        if (std::string(method) == "lora")
            adapter = std::make_shared<nn::LoRA<double>>(5, 4, nn::LoRAOptions{.rank = 2}, generator);
        else
            adapter = std::make_shared<nn::SVDResidual<double>>(layer.weight, 2);
        layer.set_adapter(adapter);
        CHECK(layer.named_parameters().size() == (std::string(method) == "lora" ? 4 : 5));
        CHECK(excess(layer(x), before, 0) <= 0); // exactly the base map at the start
        for (auto& [name, parameter] : adapter->named_parameters()) fill_random(parameter, 9, 0.3);
        Tensor<double> adapted = layer(x);
        CHECK(excess(adapted, before, 0) > 1e-3);
        nn::merge_adapter(
            nn::AdapterSite<double>{nn::AdapterTarget::out, "weight", 0, layer.weight, [&] { return layer.adapter; },
                                    [&](nn::AdapterHandle<double> a) { layer.set_adapter(std::move(a)); }});
        CHECK(!layer.adapter);
        CHECK(layer.named_parameters().size() == 2);
        CHECK(excess(layer(x), adapted, 0) <= 1e-12);
    }
}

TEST_CASE("singular value decomposition: reconstruction, orthonormal factors, descending values") {
    for (Shape shape : {Shape{5, 3}, Shape{3, 5}, Shape{4, 4}}) {
        CAPTURE(shape);
        Tensor<double> w = testing::random_tensor(shape, 4);
        auto svd = nn::singular_value_decomposition(w);
        const std::int64_t k = std::min(shape[0], shape[1]);
        REQUIRE(svd.U.shape() == Shape{shape[0], k});
        REQUIRE(svd.Vt.shape() == Shape{k, shape[1]});
        CHECK(excess(ops::matmul(svd.U * svd.S, svd.Vt), w, 0) <= 1e-12);
        Tensor<double> identity = Tensor<double>::zeros({k, k});
        for (std::int64_t i = 0; i < k; ++i) identity.data()[i * k + i] = 1;
        CHECK(excess(ops::matmul(svd.U.transpose(0, 1), svd.U), identity, 0) <= 1e-12);
        CHECK(excess(ops::matmul(svd.Vt, svd.Vt.transpose(0, 1)), identity, 0) <= 1e-12);
        for (std::int64_t i = 1; i < k; ++i) CHECK(svd.S.data()[i] <= svd.S.data()[i - 1]);
    }
    CHECK_THROWS_WITH_AS(nn::singular_value_decomposition(Tensor<double>::zeros({2, 2, 2})),
                         doctest::Contains("expected a matrix"), Error);
}

TEST_CASE("SVD residual: the principal part plus the residual is the weight, and its orthogonality penalty") {
    Tensor<float> w = testing::random_tensor({6, 4}, 5).to<float>();
    nn::SVDResidual<float> residual(w, 2, true);
    auto svd = nn::singular_value_decomposition(w.to<double>());
    // The residual holds the two smallest singular values.
    CHECK(residual.svd_S.to_vector() == svd.S.narrow(0, 2, 2).to<float>().to_vector());
    CHECK(residual.orthogonality_penalty().item() < 1e-10);
    NoGradGuard no_grad;
    residual.svd_U.copy_(residual.svd_U * 2.0f);
    CHECK(residual.orthogonality_penalty().item() == doctest::Approx(2 * 9.0).epsilon(1e-5)); // (4 - 1)^2 per column
}

TEST_CASE("adapters on tiny-a: counts, merged equals unmerged, change ranks, the adapter file") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    for (auto method : {models::AdapterMethod::lora, models::AdapterMethod::svd}) {
        CAPTURE(models::adapter_method_name(method));
        auto model = models::load_clip<float>(path);
        const std::string hash = models::parameter_hash(*model);
        freeze(*model);
        models::AdapterOptions options;
        options.method = method;
        options.targets = nn::parse_adapter_targets("q,k,v,out,fc1,fc2");
        options.lora = {.rank = 3, .alpha = 5};
        Generator generator(3);
        NoGradGuard no_grad;
        auto [image_before, text_before] = embeddings(*model, inputs);
        models::attach_adapters(*model, options, generator);
        // Per block (2 + 2): q, k, v, out are 64 -> 64, fc1 64 -> 256, fc2 256 -> 64.
        const std::int64_t per_factor_pair = 4 * (64 + 64) + 2 * (64 + 256), blocks = 4;
        const std::int64_t expected =
            method == models::AdapterMethod::lora ? blocks * 3 * per_factor_pair : blocks * 3 * (per_factor_pair + 6);
        CHECK(models::trainable_parameter_count(*model) == expected);
        CHECK(models::parameter_hash(*model) == hash); // adapters are not the base
        auto [image_fresh, text_fresh] = embeddings(*model, inputs);
        CHECK(excess(image_fresh, image_before, 0) <= 0);
        CHECK(excess(text_fresh, text_before, 0) <= 0);

        perturb_adapters(*model, 21);
        auto [image, text] = embeddings(*model, inputs);
        CHECK(excess(image, image_before, 0) > 1e-3);
        const auto file = std::filesystem::temp_directory_path() /
                          ("clipft_test_adapter_" + std::string(models::adapter_method_name(method)) + ".safetensors");
        models::save_adapters(*model, options, hash, file);
        std::map<std::string, Tensor<float>> changes;
        for (auto& site : models::attached_adapter_sites(*model))
            changes[site.openai_name + std::to_string(site.projection)] = site.adapter()->weight_change();

        auto base = models::load_clip<float>(path);
        models::merge_adapters(*model);
        CHECK(model->named_parameters().size() == base->named_parameters().size());
        auto [image_merged, text_merged] = embeddings(*model, inputs);
        CHECK(excess(image_merged, image, 1e-5) <= 1e-5);
        CHECK(excess(text_merged, text, 1e-5) <= 1e-5);
        // Each target's change has rank <= R (LoRA) or <= 2R (SVD); nothing else changed.
        for (auto& site : models::adapter_sites(*model, options.targets)) {
            auto base_site = models::adapter_sites(*base, {site.target});
            Tensor<float> base_weight;
            for (auto& candidate : base_site)
                if (candidate.openai_name == site.openai_name) base_weight = candidate.weight;
            Tensor<double> change = (site.weight - base_weight).to<double>();
            CHECK(excess(change.to<float>(), changes.at(site.openai_name + std::to_string(site.projection)), 0) <=
                  1e-6);
            auto values = nn::singular_value_decomposition(change).S.to_vector();
            const std::size_t bound = method == models::AdapterMethod::lora ? 3 : 6;
            CHECK(values[bound - 1] > 1e-6);
            for (std::size_t i = bound; i < values.size(); ++i) CHECK(values[i] < 1e-5 * values[0]);
        }
        for (auto& [name, parameter] : model->named_parameters())
            if (name.find("attn.in_proj_weight") == std::string::npos &&
                name.find("out_proj.weight") == std::string::npos && name.find("c_fc.weight") == std::string::npos &&
                name.find("c_proj.weight") == std::string::npos)
                CHECK_MESSAGE(parameter.to_vector() == base->parameter(name).to_vector(), name);

        // Applied unmerged from the file to the base: the adapted model again.
        auto applied = models::apply_adapters(*base, file);
        CHECK(applied.method == method);
        CHECK(applied.lora.rank == 3);
        CHECK(applied.lora.alpha == 5);
        auto [image_applied, text_applied] = embeddings(*base, inputs);
        CHECK(excess(image_applied, image, 1e-6) <= 1e-6);
        CHECK(excess(text_applied, text, 1e-6) <= 1e-6);
        // Another base model is refused.
        auto other = models::load_clip<float>(path);
        fill_random(other->logit_scale, 1, 1.0);
        CHECK_THROWS_WITH_AS(models::apply_adapters(*other, file), doctest::Contains("trained on another base model"),
                             Error);
        std::filesystem::remove(file);
    }
}

TEST_CASE("adapter ranks and targets are checked") {
    Generator generator;
    CHECK_THROWS_WITH_AS(nn::LoRA<float>(4, 3, {.rank = 4}, generator),
                         doctest::Contains("rank 4 must be between 1 and min(out, in) = 3"), Error);
    CHECK_THROWS_WITH_AS(nn::LoRA<float>(4, 3, {.rank = 0}, generator), doctest::Contains("rank 0"), Error);
    CHECK_THROWS_WITH_AS(nn::SVDResidual<float>(Tensor<float>::zeros({3, 4}), 4), doctest::Contains("rank 4"), Error);
    CHECK_THROWS_WITH_AS(nn::parse_adapter_targets("q,x"), doctest::Contains("unknown target 'x'"), Error);
    CHECK_THROWS_WITH_AS(nn::parse_adapter_targets("q,q"), doctest::Contains("named twice"), Error);
    nn::Linear<float> layer(4, 3);
    CHECK_THROWS_WITH_AS(
        layer.set_adapter(std::make_shared<nn::LoRA<float>>(3, 4, nn::LoRAOptions{.rank = 1}, generator)),
        doctest::Contains("weight is [3, 4]"), Error);
}

TEST_CASE("LoRA dropout acts while gradients are recorded, not under NoGradGuard") {
    Generator generator(2);
    nn::LoRA<float> lora(8, 8, {.rank = 2, .dropout = 0.5}, generator);
    fill_random(lora.lora_B, 3, 1.0);
    Tensor<float> x = testing::random_tensor({4, 8}, 4).to<float>();
    Tensor<float> plain = [&] {
        NoGradGuard no_grad;
        return lora.output_change(x);
    }();
    CHECK(excess(lora.output_change(x), plain, 0) > 1e-4);
    NoGradGuard no_grad;
    CHECK(lora.output_change(x).to_vector() == plain.to_vector());
}

TEST_CASE("LoRA and one SVD-residual step against PyTorch on tiny-a") {
    auto path = testing::fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    auto inputs = io::load_safetensors(testing::fixture_path("tiny-a/inputs.safetensors"));
    auto reference = io::load_safetensors(reference_path());
    auto objective = [&](const models::CLIP<float>& model) {
        auto [image, text] = embeddings(model, inputs);
        return ops::sum(image * reference.get<float>("objective_image")) +
               ops::sum(text * reference.get<float>("objective_text"));
    };
    models::AdapterOptions options; // q and v, both towers
    options.lora = {.rank = 2, .alpha = 3};

    SUBCASE("LoRA with fixed A and B: embeddings and gradients") {
        auto model = models::load_clip<float>(path);
        freeze(*model);
        Generator generator;
        models::attach_adapters(*model, options, generator);
        for (auto& site : models::attached_adapter_sites(*model))
            for (auto& [name, parameter] : site.adapter()->named_parameters()) {
                NoGradGuard no_grad;
                parameter.copy_(reference.get<float>("lora." + site.huggingface_name + "." + name));
            }
        objective(*model).backward();
        NoGradGuard no_grad;
        auto [image, text] = embeddings(*model, inputs);
        CHECK(excess(image, reference.get<float>("lora_image_embeds"), 1e-4) <= 1e-5);
        CHECK(excess(text, reference.get<float>("lora_text_embeds"), 1e-4) <= 1e-5);
        std::size_t checked = 0;
        for (auto& site : models::attached_adapter_sites(*model))
            for (auto& [name, parameter] : site.adapter()->named_parameters()) {
                CAPTURE(site.huggingface_name);
                CHECK(excess(parameter.grad(), reference.get<float>("lora_grad." + site.huggingface_name + "." + name),
                             1e-3) <= 1e-5);
                ++checked;
            }
        CHECK(checked == 16);
    }

    SUBCASE("SVD residual: the decomposition, gradients, one AdamW step") {
        auto model = models::load_clip<float>(path);
        freeze(*model);
        options.method = models::AdapterMethod::svd;
        Generator generator;
        models::attach_adapters(*model, options, generator);
        // Singular vectors are unique up to sign: take PyTorch's signs (flipping a component's u
        // and v together leaves the decomposition valid) before comparing.
        for (auto& site : models::attached_adapter_sites(*model)) {
            auto& svd = dynamic_cast<nn::SVDResidual<float>&>(*site.adapter());
            const std::string prefix = "svd_initial." + site.huggingface_name + ".";
            Tensor<float> u = reference.get<float>(prefix + "svd_U"), s = reference.get<float>(prefix + "svd_S"),
                          v = reference.get<float>(prefix + "svd_V");
            NoGradGuard no_grad;
            Tensor<float> signs = ops::sum(svd.initial_U * u, {0}).contiguous();
            for (std::int64_t j = 0; j < signs.numel(); ++j) signs.data()[j] = signs.data()[j] < 0 ? -1.0f : 1.0f;
            for (Tensor<float> factor : {svd.svd_U, svd.initial_U}) factor.copy_(factor * signs);
            for (Tensor<float> factor : {svd.svd_V, svd.initial_V}) factor.copy_(factor * signs.reshape({-1, 1}));
            CHECK(excess(svd.svd_U, u, 1e-4) <= 1e-4);
            CHECK(excess(svd.svd_S, s, 1e-5) <= 1e-6);
            CHECK(excess(svd.svd_V, v, 1e-4) <= 1e-4);
        }
        optim::AdamW<float> optimizer(optim::single_group(model->named_parameters(), 0.0), {1e-2, 0.9, 0.98, 1e-6});
        objective(*model).backward();
        for (auto& site : models::attached_adapter_sites(*model))
            for (auto& [name, parameter] : site.adapter()->named_parameters()) {
                CAPTURE(site.huggingface_name + "." + name);
                CHECK(excess(parameter.grad(), reference.get<float>("svd_grad." + site.huggingface_name + "." + name),
                             1e-3) <= 1e-5);
            }
        optimizer.step();
        for (auto& site : models::attached_adapter_sites(*model))
            for (auto& [name, parameter] : site.adapter()->named_parameters()) {
                CAPTURE(site.huggingface_name + "." + name);
                CHECK(excess(parameter, reference.get<float>("svd_after." + site.huggingface_name + "." + name),
                             1e-4) <= 1e-5);
            }
        NoGradGuard no_grad;
        auto [image, text] = embeddings(*model, inputs);
        CHECK(excess(image, reference.get<float>("svd_image_embeds_after"), 1e-4) <= 1e-5);
        CHECK(excess(text, reference.get<float>("svd_text_embeds_after"), 1e-4) <= 1e-5);
    }
}
