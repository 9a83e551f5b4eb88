// WiSE-FT weight interpolation (heads/interpolate.hpp) on the tiny-a fixture model in its OpenAI
// file and HuggingFace F32/F16/BF16 files: exact values against the formula, alpha = 0 bit for bit,
// layouts and dtypes mixed, and every mismatch refused with nothing written.
#include <clipft/heads/interpolate.hpp>
#include <clipft/models/checkpoint.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

using namespace clipft;
using clipft::testing::error_message;

namespace {

// A second model of tiny-a's shape: every floating weight changed (seeded), saved in `layout`.
std::filesystem::path perturbed(const std::filesystem::path& openai, const std::filesystem::path& out,
                                models::CheckpointLayout layout) {
    auto model = models::load_clip<float>(openai);
    Generator generator(5);
    NoGradGuard no_grad;
    for (auto& [name, parameter] : model->named_parameters()) {
        Tensor<float> p = parameter;
        for (std::int64_t i = 0; i < p.numel(); ++i) p.data()[i] += float(0.1 * generator.normal());
    }
    models::save_clip(*model, out, layout);
    return out;
}

// Every parameter of the two files under OpenAI names, as doubles.
Tensor<double> parameter(const std::filesystem::path& path, const std::string& name) {
    return models::open_checkpoint(path).reader.get<double>(name).contiguous();
}

} // namespace

TEST_CASE("interpolate: theta = (1 - alpha) from + alpha to, across layouts; alpha = 0 and 1 bit for bit") {
    std::filesystem::path tiny = testing::fixture_path("tiny-a");
    if (tiny.empty()) return;
    testing::TemporaryDirectory folder;
    std::filesystem::path openai = tiny / "openai.safetensors", hf = tiny / "model.safetensors";
    std::filesystem::path tuned_hf =
        perturbed(openai, folder / "tuned-hf", models::CheckpointLayout::huggingface); // a model folder
    std::filesystem::path tuned_openai =
        perturbed(openai, folder / "tuned-openai.safetensors", models::CheckpointLayout::openai);

    for (auto [from, to] : {std::pair{openai, tuned_hf}, {hf, tuned_openai}, {openai, tuned_openai}}) {
        heads::WeightInterpolation interpolation(from, to);
        for (double alpha : {0.0, 0.3, 1.0}) {
            std::filesystem::path out = folder / ("out-" + heads::alpha_text(alpha) + ".safetensors");
            interpolation.write(alpha, out);
            // Written in `to`'s layout: the same stored names, shapes and dtypes.
            io::SafetensorsFile written = io::load_safetensors(out), target = models::open_checkpoint(to).reader.file();
            CHECK(std::set<std::string>(written.names().begin(), written.names().end()) ==
                  std::set<std::string>(target.names().begin(), target.names().end()));
            for (const char* name : {"visual.proj", "visual.transformer.resblocks.1.attn.in_proj_weight", "logit_scale",
                                     "text_projection"}) {
                Tensor<double> a = parameter(from, name), b = parameter(to, name), got = parameter(out, name);
                for (std::int64_t i = 0; i < got.numel(); ++i) {
                    double expected = (1 - alpha) * a.data()[i] + alpha * b.data()[i];
                    if (alpha == 0 || alpha == 1)
                        REQUIRE(got.data()[i] == (alpha == 0 ? a.data()[i] : b.data()[i]));
                    else
                        REQUIRE(std::abs(got.data()[i] - expected) <= 1e-6 * std::max(1e-30, std::abs(expected)));
                }
            }
            // The file loads alone (its config is in its metadata) as the same model shape.
            CHECK(models::openai_config_string(models::open_checkpoint(out).config) ==
                  models::openai_config_string(models::open_checkpoint(to).config));
        }
    }
    // alpha = 0 in the same layout and dtype: every stored byte of every tensor as in `from`.
    heads::WeightInterpolation same(hf, tuned_hf / "model.safetensors");
    same.write(0, folder / "zero.safetensors");
    io::SafetensorsFile zero = io::load_safetensors(folder / "zero.safetensors"), source = io::load_safetensors(hf);
    for (const std::string& name : source.names()) {
        auto a = zero.bytes(name), b = source.bytes(name);
        REQUIRE_MESSAGE((a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0), name);
    }
}

TEST_CASE("interpolate: F16 and BF16 checkpoints give results in the target's dtype") {
    std::filesystem::path tiny = testing::fixture_path("tiny-a");
    if (tiny.empty()) return;
    testing::TemporaryDirectory folder;
    std::filesystem::path openai = tiny / "openai.safetensors", half = tiny / "model.fp16.safetensors",
                          bf16 = tiny / "model.bf16.safetensors";
    heads::WeightInterpolation into_half(openai, half);
    into_half.write(0.5, folder / "half.safetensors");
    io::SafetensorsFile written = io::load_safetensors(folder / "half.safetensors");
    CHECK(written.info("vision_model.embeddings.class_embedding").dtype == io::Dtype::F16);
    CHECK(written.info("text_model.embeddings.position_ids").dtype == io::Dtype::I64);
    Tensor<double> a = parameter(openai, "visual.class_embedding"), b = parameter(half, "visual.class_embedding"),
                   got = parameter(folder / "half.safetensors", "visual.class_embedding");
    // The mean in double, rounded once to F16.
    std::vector<double> mean;
    for (std::int64_t i = 0; i < got.numel(); ++i) mean.push_back(0.5 * a.data()[i] + 0.5 * b.data()[i]);
    CHECK(got.to_vector() == Tensor<double>::from_vector(mean).to<Half>().to<double>().to_vector());
    heads::WeightInterpolation from_bf16(bf16, openai);
    from_bf16.write(0, folder / "bf16-to-f32.safetensors");
    Tensor<double> original = parameter(bf16, "visual.proj"),
                   copied = parameter(folder / "bf16-to-f32.safetensors", "visual.proj");
    CHECK(copied.to_vector() == original.to_vector());
    CHECK(io::load_safetensors(folder / "bf16-to-f32.safetensors").info("visual.proj").dtype == io::Dtype::F32);
}

TEST_CASE("interpolate: mismatched names, shapes, configs, kinds and integer tensors are refused") {
    std::filesystem::path tiny = testing::fixture_path("tiny-a");
    if (tiny.empty()) return;
    testing::TemporaryDirectory folder;
    std::filesystem::path openai = tiny / "openai.safetensors";
    io::SafetensorsFile source = io::load_safetensors(openai);
    auto rewritten = [&](const std::string& file, auto change) {
        io::NamedTensors tensors;
        for (const std::string& name : source.names()) tensors.emplace_back(name, source.get_any(name));
        io::Metadata metadata = source.metadata();
        change(tensors, metadata);
        io::save_safetensors(folder / file, tensors, metadata);
        return folder / file;
    };
    auto missing = rewritten("missing.safetensors", [](io::NamedTensors& tensors, io::Metadata&) {
        std::erase_if(tensors, [](const auto& named) { return named.first == "visual.ln_post.bias"; });
    });
    CHECK(error_message([&] {
              heads::WeightInterpolation(openai, missing);
          }).find("'visual.ln_post.bias' has no counterpart") != std::string::npos);
    CHECK(error_message([&] {
              heads::WeightInterpolation(missing, tiny / "model.safetensors");
          }).find("tensor 'vision_model.post_layernorm.bias' has no counterpart") != std::string::npos);
    auto reshaped = rewritten("reshaped.safetensors", [](io::NamedTensors& tensors, io::Metadata&) {
        for (auto& [name, tensor] : tensors)
            if (name == "visual.class_embedding") tensor = Tensor<float>::zeros({1, 64});
    });
    CHECK(error_message([&] {
              heads::WeightInterpolation(openai, reshaped);
          }).find("tensor 'visual.class_embedding': shape") != std::string::npos);
    auto other_config = rewritten("config.safetensors", [](io::NamedTensors&, io::Metadata& metadata) {
        metadata["config"].replace(metadata["config"].find("\"vision_heads\": 1"), 17, "\"vision_heads\": 2");
    });
    CHECK(error_message([&] { heads::WeightInterpolation(openai, other_config); }).find("different configs") !=
          std::string::npos);
    auto integer = rewritten("integer.safetensors", [](io::NamedTensors& tensors, io::Metadata&) {
        tensors.emplace_back("step", Tensor<std::int64_t>::from_vector({1}));
    });
    auto other_integer = rewritten("integer2.safetensors", [](io::NamedTensors& tensors, io::Metadata&) {
        tensors.emplace_back("step", Tensor<std::int64_t>::from_vector({2}));
    });
    CHECK(error_message([&] {
              heads::WeightInterpolation(integer, other_integer);
          }).find("tensor 'step' (I64) differs") != std::string::npos);
    heads::WeightInterpolation(integer, integer).write(0.5, folder / "fine.safetensors");
    CHECK(io::load_safetensors(folder / "fine.safetensors").get<std::int64_t>("step").item() == 1);

    heads::Probe probe{"logistic",
                       {"real", "fake"},
                       heads::LinearProbe{Tensor<float>::zeros({2, 32}), Tensor<float>::zeros({2})},
                       std::nullopt,
                       {}};
    probe.save(folder / "probe.safetensors");
    CHECK(error_message([&] {
              heads::WeightInterpolation(openai, folder / "probe.safetensors");
          }).find("both must be of one kind") != std::string::npos);
    heads::Probe other = probe;
    other.classes = {"real", "fake", "cat"};
    other.linear = heads::LinearProbe{Tensor<float>::zeros({3, 32}), Tensor<float>::zeros({3})};
    other.save(folder / "probe3.safetensors");
    CHECK(error_message([&] {
              heads::WeightInterpolation(folder / "probe.safetensors", folder / "probe3.safetensors");
          }).find("different classes") != std::string::npos);
    std::string bytes = testing::read_bytes(openai);
    testing::write_bytes(folder / "truncated.safetensors", bytes.substr(0, bytes.size() / 2));
    CHECK(error_message([&] {
              heads::WeightInterpolation(openai, folder / "truncated.safetensors");
          }).find("truncated.safetensors") != std::string::npos);
}

TEST_CASE("interpolate: linear probes") {
    testing::TemporaryDirectory folder;
    heads::Probe a{"zero-shot",
                   {"real", "fake"},
                   heads::LinearProbe{Tensor<float>::from_vector({1, 2, 3, 4}, {2, 2}), Tensor<float>::zeros({2})},
                   std::nullopt,
                   {}};
    heads::Probe b{
        "logistic",
        {"real", "fake"},
        heads::LinearProbe{Tensor<float>::from_vector({3, 2, 1, 0}, {2, 2}), Tensor<float>::from_vector({1, -1})},
        std::nullopt,
        {{"C", "1"}}};
    a.save(folder / "a.safetensors");
    b.save(folder / "b.safetensors");
    heads::WeightInterpolation(folder / "a.safetensors", folder / "b.safetensors")
        .write(0.25, folder / "mix.safetensors");
    heads::Probe mix = heads::Probe::load(folder / "mix.safetensors");
    CHECK(mix.linear->weight.to_vector() == std::vector<float>{1.5f, 2, 2.5f, 3});
    CHECK(mix.linear->bias.to_vector() == std::vector<float>{0.25f, -0.25f});
    CHECK(mix.method == "logistic");
}
