// io::Limits: settings by name (CLIPFT_LIMITS), messages that name the file, the limit and how to
// raise it, every reader refusing input beyond its limit, NaN/Inf weights refused, reported or
// allowed, and defaults that admit the real OpenAI models.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "tiny_config.hpp"

#include <clipft/io/csv.hpp>
#include <clipft/io/limits.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/text/tokenizer.hpp>

#include <zlib.h>

#include <cmath>

using namespace clipft;
using doctest::Contains;

namespace {

// The message of the clipft::Error `body` throws, or "" when it throws none.
template <typename Body> std::string error_message(Body&& body) {
    try {
        body();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

std::string gzip(const std::string& text) {
    z_stream stream{};
    REQUIRE(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&stream, uLong(text.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = uInt(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = uInt(out.size());
    REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

const std::string raise_hint = "; if the file is trusted, raise it with CLIPFT_LIMITS=";

} // namespace

TEST_CASE("limits: settings by name, as CLIPFT_LIMITS gives them") {
    io::Limits limits;
    limits.apply("max_image_pixels=400000000,non_finite_weights=warn,max_csv_rows=7", "CLIPFT_LIMITS");
    CHECK(limits.max_image_pixels == 400'000'000);
    CHECK(limits.max_csv_rows == 7);
    CHECK(limits.non_finite_weights == io::NonFiniteWeights::warn);
    CHECK(limits.max_json_bytes == io::Limits{}.max_json_bytes); // the others keep their defaults

    CHECK(error_message([&] {
              limits.apply("max_pixels=3", "CLIPFT_LIMITS");
          }).starts_with("CLIPFT_LIMITS: no limit named 'max_pixels' (limits: max_safetensors_file_bytes, "));
    CHECK(error_message([&] { limits.apply("max_csv_rows=12k", "CLIPFT_LIMITS"); }) ==
          "CLIPFT_LIMITS: the value of max_csv_rows must be a whole number of bytes or items, not '12k'");
    CHECK(error_message([&] {
              limits.apply("max_csv_rows", "CLIPFT_LIMITS");
          }).starts_with("CLIPFT_LIMITS: 'max_csv_rows' is not name=value"));
    CHECK(error_message([&] { limits.apply("non_finite_weights=ignore", "CLIPFT_LIMITS"); }) ==
          "CLIPFT_LIMITS: non_finite_weights is refuse, warn or allow, not 'ignore'");
}

TEST_CASE("limits: the defaults admit OpenAI's released models, whose sizes parameter_count knows") {
    // Parameter counts of OpenAI's checkpoints as published (sum of numel over the state dict).
    CHECK(models::CLIPConfig::preset("ViT-B/32").parameter_count() == 151'277'313);
    CHECK(models::CLIPConfig::preset("ViT-B/16").parameter_count() == 149'620'737);
    CHECK(models::CLIPConfig::preset("ViT-L/14").parameter_count() == 427'616'513);
    CHECK(models::CLIPConfig::preset("ViT-L/14@336").parameter_count() == 427'944'193);
    const io::Limits limits;
    CHECK(models::CLIPConfig::preset("ViT-L/14@336").parameter_count() < limits.max_model_parameters);
    CHECK(std::uint64_t(4) * 427'944'193 < limits.max_safetensors_file_bytes); // the whole model in F32
    CHECK(std::uint64_t(4) * 49408 * 768 < limits.max_tensor_bytes);           // its largest tensor, in F32
    CHECK(std::uint64_t(6000) * 4000 < limits.max_image_pixels);               // a 24-megapixel photograph

    std::uint64_t numel = 0;
    models::CLIP<float> tiny(testing::tiny_config());
    for (const auto& [name, parameter] : tiny.named_parameters()) numel += std::uint64_t(parameter.numel());
    CHECK(testing::tiny_config().parameter_count() == numel);
}

TEST_CASE("limits: JSON and CSV readers refuse files beyond their limits, naming file and limit") {
    testing::TemporaryDirectory directory;
    const auto json = directory / "config.json";
    testing::write_bytes(json, "{ }  ");
    CHECK(error_message([&] { io::read_json_file(json, {.max_json_bytes = 4}); }) ==
          json.string() + ": the file size 5 exceeds the limit max_json_bytes = 4" + raise_hint +
              "max_json_bytes=N (or clipft::io::limits())");
    CHECK(io::read_json_file(json, {.max_json_bytes = 5}).empty());

    const std::string table = "path,label\na.jpg,0\nb.jpg,1\nc.jpg,1\n";
    CHECK(error_message([&] {
              io::parse_csv(table, "m.csv", {}, {.max_csv_rows = 2});
          }).starts_with("m.csv: the number of rows 3 exceeds the limit max_csv_rows = 2" + raise_hint));
    CHECK(io::parse_csv(table, "m.csv", {}, {.max_csv_rows = 3}).rows.size() == 3);
    CHECK(error_message([&] {
              io::parse_csv("a,b,c\n", "m.csv", {}, {.max_csv_columns = 2});
          }).starts_with("m.csv:1: the number of fields 3 exceeds the limit max_csv_columns = 2" + raise_hint));
    CHECK(error_message([&] {
              io::parse_csv(table, "m.csv", {}, {.max_csv_field_bytes = 4});
          }).starts_with("m.csv:1: field 2 is longer than the limit max_csv_field_bytes = 4" + raise_hint));
    CHECK(error_message([&] {
              io::parse_csv("h\n\"12345\"\n", "m.csv", {}, {.max_csv_field_bytes = 4});
          }).starts_with("m.csv:2: field 1 is longer than the limit max_csv_field_bytes = 4"));
    const auto manifest = directory / "manifest.csv";
    testing::write_bytes(manifest, table);
    CHECK(error_message([&] { io::read_csv(manifest, {}, {.max_csv_bytes = 10}); })
              .starts_with(manifest.string() + ": the file size " + std::to_string(table.size()) +
                           " exceeds the limit max_csv_bytes = 10" + raise_hint));
}

TEST_CASE("limits: a tensor is refused when reading it would allocate beyond max_tensor_bytes") {
    testing::TemporaryDirectory directory;
    const auto path = directory / "w.safetensors";
    io::save_safetensors(path, io::NamedTensors{{"w", Tensor<float>::from_vector({1, 2, 3})}});
    io::SafetensorsFile file(path, {.max_tensor_bytes = 12});
    CHECK(file.get<float>("w").numel() == 3);
    CHECK(error_message([&] { file.get<double>("w"); }) ==
          path.string() +
              ": tensor 'w': read as float64, its size in bytes 24 exceeds the limit max_tensor_bytes = 12" +
              raise_hint + "max_tensor_bytes=N (or clipft::io::limits())");
}

TEST_CASE("limits: vocabularies, a gzip bomb and a huge token id") {
    testing::TemporaryDirectory directory;
    // 3 MB of zeros compress to a few kilobytes: refused while inflating, at the limit.
    const auto bomb = directory / "bomb.txt.gz";
    const std::string compressed = gzip(std::string(3'000'000, '0'));
    CHECK(compressed.size() < 10'000);
    testing::write_bytes(bomb, compressed);
    CHECK(error_message([&] { text::Tokenizer::from_bpe_file(bomb, {.max_vocabulary_bytes = 1'000'000}); }) ==
          bomb.string() + ": decompresses to more than the limit max_vocabulary_bytes = 1000000 bytes" + raise_hint +
              "max_vocabulary_bytes=N (or clipft::io::limits())");
    CHECK(error_message([&] { text::Tokenizer::from_bpe_file(bomb, {.max_vocabulary_bytes = 1000}); })
              .starts_with(bomb.string() + ": the file size " + std::to_string(compressed.size()) +
                           " exceeds the limit max_vocabulary_bytes = 1000"));

    // One id of 2 billion would make the id table 2 billion entries long.
    const auto vocab = directory / "vocab.json", merges = directory / "merges.txt";
    testing::write_bytes(vocab, R"({"a": 2000000000})");
    testing::write_bytes(merges, "#version: 0.2\n");
    CHECK(error_message([&] { text::Tokenizer::from_vocab_files(vocab, merges); }) ==
          vocab.string() + ": the id of \"a\" is 2000000000, not an integer in 0..999999 (ids lie below the limit " +
              "max_vocabulary_tokens" + raise_hint + "max_vocabulary_tokens=N (or clipft::io::limits()))");
}

TEST_CASE("limits: a config is checked against the limit and the file before a model is built") {
    testing::TemporaryDirectory directory;
    // A 1-value file whose config claims ViT-B/32: building that model would allocate 600 MB.
    const auto claim = directory / "claim.safetensors";
    io::save_safetensors(claim, io::NamedTensors{{"logit_scale", Tensor<float>::scalar(1.0f)}},
                         {{"config", models::openai_config_string(models::CLIPConfig::preset("ViT-B/32"))}});
    CHECK(error_message([&] { models::load_clip<float>(claim); }) ==
          claim.string() + ": the config describes a model of 151277313 parameters, more than twice the 1 values the "
                           "file holds; the config does not match the weights");
    CHECK(error_message([&] { models::open_checkpoint(claim, {.max_model_parameters = 1000}); }) ==
          claim.string() + ": the config describes a model whose parameter count 151277313 exceeds the limit " +
              "max_model_parameters = 1000" + raise_hint + "max_model_parameters=N (or clipft::io::limits())");
}

TEST_CASE("limits: NaN or infinite weights are refused by default, or reported, or allowed") {
    testing::TemporaryDirectory directory;
    const auto path = directory / "nan.safetensors";
    {
        models::CLIP<float> model(testing::tiny_config());
        NoGradGuard no_grad;
        Tensor<float> projection = model.text.text_projection;
        projection.data()[1] = NAN;
        projection.data()[5] = INFINITY;
        models::save_clip(model, path, models::CheckpointLayout::openai);
    }
    CHECK(error_message([&] { models::load_clip<float>(path); }) ==
          path.string() + ": tensor 'text_projection': 2 NaN or infinite value(s), the first at element 1; the weights "
                          "are corrupt (to load them anyway: CLIPFT_LIMITS=non_finite_weights=warn)");
    for (io::NonFiniteWeights policy : {io::NonFiniteWeights::warn, io::NonFiniteWeights::allow}) {
        io::Limits limits;
        limits.non_finite_weights = policy;
        auto model = models::load_clip<float>(path, limits);
        CHECK(std::isnan(model->text.text_projection.data()[1]));
        CHECK(std::isinf(model->text.text_projection.data()[5]));
    }
}
