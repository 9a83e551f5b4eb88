// safetensors reading (against the reference checkpoints), writing (byte-identical round trips, the
// canonical layout), conversions, and rejection of malformed or hostile files.
#include <clipft/io/safetensors.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace clipft;
using testing::error_message;
using clipft::testing::fixture_path;
using clipft::testing::read_bytes;
using clipft::testing::TemporaryDirectory;
using clipft::testing::write_bytes;

namespace {

// A file with the given header text and data; `length` overrides the header length field.
std::string safetensors_bytes(const std::string& header, const std::string& data = "",
                              std::optional<std::uint64_t> length = std::nullopt) {
    std::uint64_t size = length.value_or(header.size());
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = char((size >> (8 * i)) & 0xff); // little-endian, spelled out
    return bytes + header + data;
}

template <typename T> std::string raw(const std::vector<T>& values) {
    std::string bytes(values.size() * sizeof(T), '\0');
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

// The float32 values of a tensor straight from the file with plain stream reads: the header length
// from the first 8 bytes, the tensor's byte range from `entry`.
std::vector<float> read_floats(const std::filesystem::path& path, const io::TensorInfo& entry) {
    std::string file = read_bytes(path);
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, file.data(), 8);
    std::vector<float> values((entry.end - entry.begin) / 4);
    std::memcpy(values.data(), file.data() + 8 + header_size + entry.begin, values.size() * 4);
    return values;
}

} // namespace

TEST_CASE("safetensors: reads the OpenAI-layout reference checkpoint") {
    auto path = fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    io::SafetensorsFile file = io::load_safetensors(path);
    CHECK(file.path() == path);
    CHECK(file.size() == 62);

    struct Expected {
        const char* name;
        Shape shape;
    };
    for (const Expected& expected : std::vector<Expected>{
             {"visual.conv1.weight", {64, 3, 8, 8}},
             {"visual.class_embedding", {64}},
             {"visual.positional_embedding", {17, 64}},
             {"visual.transformer.resblocks.1.attn.in_proj_weight", {192, 64}},
             {"visual.transformer.resblocks.0.mlp.c_fc.weight", {256, 64}},
             {"visual.transformer.resblocks.0.mlp.c_proj.weight", {64, 256}},
             {"visual.proj", {64, 32}},
             {"token_embedding.weight", {49408, 64}},
             {"positional_embedding", {77, 64}},
             {"transformer.resblocks.1.ln_2.bias", {64}},
             {"text_projection", {64, 32}},
             {"logit_scale", {}},
         }) {
        CAPTURE(expected.name);
        REQUIRE(file.contains(expected.name));
        CHECK(file.info(expected.name).dtype == io::Dtype::F32);
        CHECK(file.info(expected.name).shape == expected.shape);
        Tensor<float> tensor = file.get<float>(expected.name);
        CHECK(tensor.shape() == expected.shape);
        CHECK(tensor.to_vector() == read_floats(path, file.info(expected.name)));
    }
    CHECK(!file.contains("visual.conv1.bias"));
    CHECK(file.get<float>("logit_scale").item() == doctest::Approx(2.66442633).epsilon(1e-7));

    // names() follow the data: contiguous byte ranges from 0 to the end of the file.
    std::uint64_t position = 0;
    for (const std::string& name : file.names()) {
        CHECK(file.info(name).begin == position);
        position = file.info(name).end;
    }
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, read_bytes(path).data(), 8);
    CHECK(8 + header_size + position == std::filesystem::file_size(path));

    REQUIRE(file.metadata().count("config") == 1);
    CHECK(file.metadata().at("naming") == "openai");
    io::Json config = io::parse_json(file.metadata().at("config"), "config");
    CHECK(config["transformer_heads"] == 4);
    CHECK(config["vision_patch_size"] == 8);
}

TEST_CASE("safetensors: tensors of the stored type alias the mapping, privately") {
    auto path = fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    std::string file_before = read_bytes(path);
    Tensor<float> projection;
    {
        io::SafetensorsFile file = io::load_safetensors(path);
        projection = file.get<float>("visual.proj");
        CHECK(static_cast<const void*>(projection.data()) == file.bytes("visual.proj").data());
        CHECK(projection.shares_storage_with(file.get<float>("visual.proj")));
        CHECK(!projection.shares_storage_with(file.get<double>("visual.proj").to<float>()));
    }
    // The tensor keeps the mapping alive after the file object is gone.
    std::vector<float> expected = read_floats(path, io::load_safetensors(path).info("visual.proj"));
    CHECK(projection.to_vector() == expected);
    // Writes (e.g. an optimizer step) change this process's pages only, never the file.
    projection.fill_(42.0f);
    CHECK(projection.at({63, 31}) == 42.0f);
    CHECK(read_bytes(path) == file_before);
    CHECK(io::load_safetensors(path).get<float>("visual.proj").to_vector() == expected);
}

TEST_CASE("safetensors: F16 and BF16 checkpoints convert to the float32 values within their precision") {
    auto f32_path = fixture_path("tiny-a/model.safetensors");
    auto f16_path = fixture_path("tiny-a/model.fp16.safetensors");
    auto bf16_path = fixture_path("tiny-a/model.bf16.safetensors");
    if (f32_path.empty() || f16_path.empty() || bf16_path.empty()) return;
    io::SafetensorsFile f32 = io::load_safetensors(f32_path);
    io::SafetensorsFile f16 = io::load_safetensors(f16_path);
    io::SafetensorsFile bf16 = io::load_safetensors(bf16_path);
    REQUIRE(f32.size() == 80);
    CHECK(f16.names() == f32.names());
    CHECK(f16.size() == 80);
    CHECK(bf16.size() == 80);
    CHECK(f16.metadata() == f32.metadata());

    // Rounding to nearest with p significand bits (11 for F16, 8 for BF16, the implicit bit
    // included) errs by at most half a unit in the last place: |a - b| <= 2^-p |b| for normal
    // numbers. F16 numbers below 2^-14 are subnormal with a fixed spacing of 2^-24, so there the
    // error is at most 2^-25; BF16 has float32's exponent range, subnormal only below 2^-126
    // (spacing 2^-133).
    std::size_t floating = 0;
    for (const std::string& name : f32.names()) {
        CAPTURE(name);
        if (f32.info(name).dtype == io::Dtype::I64) {
            CHECK(f16.info(name).dtype == io::Dtype::I64);
            CHECK(bf16.info(name).dtype == io::Dtype::I64);
            continue;
        }
        ++floating;
        CHECK(f16.info(name).dtype == io::Dtype::F16);
        CHECK(bf16.info(name).dtype == io::Dtype::BF16);
        CHECK(f16.info(name).shape == f32.info(name).shape);
        std::vector<float> reference = f32.get<float>(name).to_vector();
        std::vector<float> from_f16 = f16.get<float>(name).to_vector();
        std::vector<float> from_bf16 = bf16.get<float>(name).to_vector();
        REQUIRE(from_f16.size() == reference.size());
        REQUIRE(from_bf16.size() == reference.size());
        std::size_t f16_outside = 0, bf16_outside = 0;
        for (std::size_t i = 0; i < reference.size(); ++i) {
            double b = reference[i];
            f16_outside += std::abs(from_f16[i] - b) > 0x1p-11 * std::abs(b) + 0x1p-25;
            bf16_outside += std::abs(from_bf16[i] - b) > 0x1p-8 * std::abs(b) + 0x1p-134;
        }
        CHECK(f16_outside == 0);
        CHECK(bf16_outside == 0);
        // PyTorch's .half()/.bfloat16() made those files; converting our F32 data to 16 bits on
        // reading must give the same bits.
        auto as_f16 = f32.get<Half>(name);
        auto as_bf16 = f32.get<BFloat16>(name);
        CHECK(std::memcmp(as_f16.data(), f16.bytes(name).data(), f16.bytes(name).size()) == 0);
        CHECK(std::memcmp(as_bf16.data(), bf16.bytes(name).data(), bf16.bytes(name).size()) == 0);
        // Stored as requested: no copy.
        CHECK(static_cast<const void*>(f16.get<Half>(name).data()) == f16.bytes(name).data());
    }
    CHECK(floating == 78);

    for (const auto* file : {&f32, &f16, &bf16}) {
        Tensor<std::int64_t> ids = file->get<std::int64_t>("text_model.embeddings.position_ids");
        CHECK(ids.shape() == Shape{1, 77});
        CHECK(ids.to_vector() == Tensor<std::int64_t>::arange(77).to_vector());
        CHECK(file->get<std::int64_t>("vision_model.embeddings.position_ids").to_vector() ==
              Tensor<std::int64_t>::arange(17).to_vector());
    }
}

TEST_CASE("safetensors: conversions between element types") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "mixed.safetensors";
    io::save_safetensors(path, {
                                   {"ids", Tensor<std::int64_t>::from_vector({1, -2, 300})},
                                   {"small", Tensor<std::uint8_t>::from_vector({0, 7, 255})},
                                   {"third", Tensor<double>::from_vector({1.0 / 3.0})},
                               });
    io::SafetensorsFile file = io::load_safetensors(path);
    CHECK(file.get<std::int32_t>("ids").to_vector() == std::vector<std::int32_t>{1, -2, 300});
    CHECK(file.get<float>("ids").to_vector() == std::vector<float>{1, -2, 300});
    CHECK(file.get<std::int64_t>("small").to_vector() == std::vector<std::int64_t>{0, 7, 255});
    CHECK(file.get<float>("third").item() == float(1.0 / 3.0));
    CHECK(file.get<double>("third").item() == 1.0 / 3.0);
    CHECK(std::holds_alternative<Tensor<double>>(file.get_any("third")));
    CHECK(std::holds_alternative<Tensor<std::uint8_t>>(file.get_any("small")));

    std::string prefix = path.string() + ": tensor 'ids': ";
    CHECK(error_message([&] { file.get<std::uint8_t>("ids"); }) ==
          prefix + "element 1 (value -2) of the I64 tensor does not fit in uint8");
    CHECK(error_message([&] { file.get<std::int64_t>("third"); }) ==
          path.string() + ": tensor 'third': stored as F64, cannot be read as int64 (no silent rounding of "
                          "floating-point data); read it as float or double");
}

TEST_CASE("safetensors: data at unaligned offsets is copied, not aliased") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "unaligned.safetensors";
    // A header of 4k + 2 bytes puts the data 2 bytes off 4-byte alignment (the mapping starts on a page).
    std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    header += std::string((6 - header.size() % 4) % 4, ' ');
    REQUIRE((8 + header.size()) % 4 == 2);
    write_bytes(path, safetensors_bytes(header, raw(std::vector<float>{1.5f, -2.25f})));
    io::SafetensorsFile file = io::load_safetensors(path);
    Tensor<float> x = file.get<float>("x");
    CHECK(x.to_vector() == std::vector<float>{1.5f, -2.25f});
    CHECK(static_cast<const void*>(x.data()) != file.bytes("x").data());
}

TEST_CASE("safetensors: loading and saving the reference files reproduces them byte for byte") {
    for (const char* name : {"tiny-a/openai.safetensors", "tiny-a/model.safetensors", "tiny-a/model.fp16.safetensors",
                             "tiny-a/model.bf16.safetensors", "tiny-a/inputs.safetensors",
                             "tiny-a/train_step.safetensors", "preprocess/expected.safetensors"}) {
        CAPTURE(name);
        auto path = fixture_path(name);
        if (path.empty()) continue;
        TemporaryDirectory directory;
        std::filesystem::path copy = directory / "copy.safetensors";
        {
            io::SafetensorsFile file = io::load_safetensors(path);
            io::NamedTensors tensors;
            // Reverse order: the writer must not depend on the order it is given.
            for (auto it = file.names().rbegin(); it != file.names().rend(); ++it)
                tensors.emplace_back(*it, file.get_any(*it));
            io::save_safetensors(copy, tensors, file.metadata());
        }
        CHECK(read_bytes(copy) == read_bytes(path));
    }
}

TEST_CASE("safetensors: the written layout, exactly") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "layout.safetensors";
    Tensor<float> matrix = Tensor<float>::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
    io::save_safetensors(path,
                         {
                             {"c", Tensor<std::uint8_t>::from_vector({7, 8, 9})},
                             {"b", matrix.transpose(0, 1)}, // non-contiguous: stored row-major
                             {"h", Tensor<Half>::scalar(Half(1.0f))},
                             {"a", Tensor<std::int64_t>::from_vector({-1})},
                             {"e", Tensor<float>::zeros({0, 3})},
                         },
                         {{"k", "v"}, {"escaped", "quote \" backslash \\ newline \n tab \t bell \x07 cat 猫"}});
    // Item size descending, then name; offsets contiguous; padded with spaces to a multiple of 8.
    std::string header =
        R"({"__metadata__":{"escaped":"quote \" backslash \\ newline \n tab \t bell \u0007 cat 猫","k":"v"},)"
        R"("a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
        R"("b":{"dtype":"F32","shape":[3,2],"data_offsets":[8,32]},)"
        R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[32,32]},)"
        R"("h":{"dtype":"F16","shape":[],"data_offsets":[32,34]},)"
        R"("c":{"dtype":"U8","shape":[3],"data_offsets":[34,37]}})";
    header += std::string((8 - header.size() % 8) % 8, ' ');
    std::string data = raw(std::vector<std::int64_t>{-1}) + raw(std::vector<float>{0, 3, 1, 4, 2, 5}) +
                       std::string("\x00\x3c", 2) /* 1.0 in F16 */ + "\x07\x08\x09";
    CHECK(read_bytes(path) == safetensors_bytes(header, data));

    io::SafetensorsFile file = io::load_safetensors(path);
    CHECK(file.names() == std::vector<std::string>{"a", "b", "e", "h", "c"});
    CHECK(file.metadata().at("escaped") == "quote \" backslash \\ newline \n tab \t bell \x07 cat 猫");
    CHECK(file.get<float>("b").to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
    CHECK(file.get<float>("e").shape() == Shape{0, 3});
    CHECK(file.get<float>("h").item() == 1.0f);

    // No metadata, no tensors: the smallest valid file.
    io::save_safetensors(path, io::NamedTensors{});
    CHECK(read_bytes(path) == safetensors_bytes("{}      "));
    CHECK(io::load_safetensors(path).size() == 0);

    // The one-type convenience overload, and a view with an offset.
    io::save_safetensors(path, std::vector<std::pair<std::string, Tensor<float>>>{{"row", matrix.select(0, 1)}});
    CHECK(io::load_safetensors(path).get<float>("row").to_vector() == std::vector<float>{3, 4, 5});
}

TEST_CASE("safetensors: saving replaces the file atomically, even while it is mapped") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "weights.safetensors";
    io::save_safetensors(path, {{"w", Tensor<float>::from_vector({1, 2, 3})}});
    io::SafetensorsFile old_file = io::load_safetensors(path);
    Tensor<float> old_weights = old_file.get<float>("w");
    io::save_safetensors(path, {{"w", Tensor<float>::from_vector({7, 8, 9})}});
    CHECK(old_weights.to_vector() == std::vector<float>{1, 2, 3});
    CHECK(io::load_safetensors(path).get<float>("w").to_vector() == std::vector<float>{7, 8, 9});
    CHECK(std::distance(std::filesystem::directory_iterator(directory.path()), std::filesystem::directory_iterator()) ==
          1);
}

TEST_CASE("safetensors: bad tensors to save are rejected before anything is written") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "out.safetensors";
    write_bytes(path, "previous");
    std::string file = path.string();
    Tensor<float> x = Tensor<float>::ones({2});
    CHECK(error_message([&] {
              io::save_safetensors(path, {{"x", x}, {"y", x}, {"x", x}});
          }) == file + ": tensor 'x': the name is given twice");
    CHECK(error_message([&] {
              io::save_safetensors(path, {{"__metadata__", x}});
          }) == file + ": '__metadata__' is reserved and cannot name a tensor");
    CHECK(error_message([&] {
              io::save_safetensors(path, {{"x", Tensor<float>()}});
          }) == file + ": tensor 'x' is undefined (a default-constructed Tensor)");
    CHECK(error_message([&] {
              io::save_safetensors(path, {{"bad\xff", x}});
          }) == file + ": tensor name 'bad\xff' is not valid UTF-8");
    CHECK(read_bytes(path) == "previous");
    std::filesystem::path missing = directory / "missing" / "out.safetensors";
    CHECK(error_message([&] {
              io::save_safetensors(missing, {{"x", x}});
          }).starts_with(missing.string() + ": cannot create a temporary file"));
}

TEST_CASE("safetensors: unknown tensor names get suggestions") {
    auto path = fixture_path("tiny-a/openai.safetensors");
    if (path.empty()) return;
    io::SafetensorsFile file = io::load_safetensors(path);
    CHECK(error_message([&] { file.get<float>("visual.projj"); }) ==
          path.string() + ": no tensor named 'visual.projj'; did you mean 'visual.proj'? (the file has 62 tensors)");
    CHECK(error_message([&] { file.info("vision_model.embeddings.class_embedding"); }) ==
          path.string() + ": no tensor named 'vision_model.embeddings.class_embedding'; the file has 62 tensors, "
                          "e.g. 'ln_final.bias', 'ln_final.weight', 'logit_scale'");
}

TEST_CASE("safetensors: malformed and hostile files are rejected with the file and tensor named") {
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "hostile.safetensors";
    const std::string file = path.string();
    std::string eight_bytes(8, '\x01');
    auto tensor = [](const std::string& name, const std::string& dtype, const std::string& shape,
                     const std::string& offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets +
               "}";
    };
    struct Case {
        const char* what;
        std::string bytes;
        std::string message; // the whole message after "<path>: "
        io::Limits limits = {};
    };
    std::vector<Case> cases = {
        {"empty file", "",
         "the file has 0 bytes; a safetensors file starts with an 8-byte header length (truncated or not a "
         "safetensors file?)"},
        {"too short", std::string("\x10\x00\x00", 3),
         "the file has 3 bytes; a safetensors file starts with an 8-byte header length (truncated or not a "
         "safetensors file?)"},
        {"header length beyond the file", safetensors_bytes("{}", "", 1000),
         "header length 1000 exceeds the 2 bytes after the length field (truncated or not a safetensors file?)"},
        {"header length beyond the limit",
         safetensors_bytes("{}      ", "", 8),
         "the header length 8 exceeds the limit max_safetensors_header_bytes = 4; if the file is trusted, raise it "
         "with CLIPFT_LIMITS=max_safetensors_header_bytes=N (or clipft::io::limits())",
         {.max_safetensors_header_bytes = 4}},
        {"huge header length", safetensors_bytes("{}", "", std::numeric_limits<std::uint64_t>::max()),
         "the header length 18446744073709551615 exceeds the limit max_safetensors_header_bytes = 100000000; if the "
         "file is trusted, raise it with CLIPFT_LIMITS=max_safetensors_header_bytes=N (or clipft::io::limits())"},
        {"header not JSON", safetensors_bytes(R"({"w": nope})"),
         "invalid JSON at byte 15 of the file: parse error at line 1, column 8: syntax error while parsing value - "
         "invalid literal; last read: '\"w\": no'"},
        {"header JSON but not an object", safetensors_bytes("[1, 2]  "), "the header is JSON array, not an object"},
        {"metadata not an object", safetensors_bytes(R"({"__metadata__":"x"})"),
         "__metadata__ is JSON string, not an object of strings"},
        {"metadata value not a string", safetensors_bytes(R"({"__metadata__":{"epoch":3}})"),
         "__metadata__ entry 'epoch' is JSON number, not a string"},
        {"entry not an object", safetensors_bytes(R"({"w":[0,4]})"),
         "tensor 'w': entry is JSON array, not an object with dtype, shape and data_offsets"},
        {"missing field", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", "1234"),
         "tensor 'w': field 'data_offsets' is missing"},
        {"unexpected field",
         safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", "1234"),
         "tensor 'w': unexpected field 'x' (expected dtype, shape and data_offsets)"},
        {"unknown dtype", safetensors_bytes("{" + tensor("visual.proj", "I16", "[2]", "[0,4]") + "}", "1234"),
         "tensor 'visual.proj': dtype 'I16' is not supported (clipft reads F64, F32, F16, BF16, I64, I32, U8)"},
        {"dtype not a string", safetensors_bytes(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", "1234"),
         "tensor 'w': dtype is JSON number, not a string"},
        {"negative extent", safetensors_bytes("{" + tensor("w", "F32", "[-1,4]", "[0,4]") + "}", "1234"),
         "tensor 'w': shape [-1,4] must hold non-negative integers"},
        {"fractional extent", safetensors_bytes("{" + tensor("w", "F32", "[1.5]", "[0,4]") + "}", "1234"),
         "tensor 'w': shape [1.5] must hold non-negative integers"},
        {"shape not an array", safetensors_bytes("{" + tensor("w", "F32", "4", "[0,4]") + "}", "1234"),
         "tensor 'w': shape is JSON number, not an array"},
        {"element count overflows",
         safetensors_bytes("{" + tensor("big", "F32", "[4294967296,4294967296]", "[0,4]") + "}", "1234"),
         "tensor 'big': shape [4294967296,4294967296] has more elements than 64-bit sizes can count"},
        {"byte count overflows",
         safetensors_bytes("{" + tensor("big", "F64", "[4611686018427387904]", "[0,4]") + "}", "1234"),
         "tensor 'big': shape [4611686018427387904] has more elements than 64-bit sizes can count"},
        {"nested shape", safetensors_bytes("{" + tensor("w", "F32", "[[1],2]", "[0,4]") + "}", "1234"),
         "tensor 'w': shape [<array>,2] must hold non-negative integers"},
        {"deeply nested shape",
         safetensors_bytes("{" + tensor("w", "F32", std::string(100000, '[') + std::string(100000, ']'), "[0,4]") + "}",
                           "1234"),
         "tensor 'w': shape [<array>] must hold non-negative integers"},
        {"long shape", safetensors_bytes("{" + tensor("w", "U8", "[1,1,1,1,1,1,1,1,1,1,3]", "[0,4]") + "}", "1234"),
         "tensor 'w': data_offsets [0,4] hold 4 bytes, but shape [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3] of U8 needs 3"},
        {"long shape, bad extent",
         safetensors_bytes("{" + tensor("w", "U8", "[1,1,1,1,1,1,1,1,1,1,-3]", "[0,4]") + "}", "1234"),
         "tensor 'w': shape [1,1,1,1,1,1,1,1,...] must hold non-negative integers"},
        {"offsets a string", safetensors_bytes("{" + tensor("w", "F32", "[1]", "\"0-4\"") + "}", "1234"),
         "tensor 'w': data_offsets <string> must be two non-negative integers [begin, end]"},
        {"offsets not two integers", safetensors_bytes("{" + tensor("w", "F32", "[1]", "[0]") + "}", "1234"),
         "tensor 'w': data_offsets [0] must be two non-negative integers [begin, end]"},
        {"offsets reversed", safetensors_bytes("{" + tensor("w", "F32", "[0]", "[4,0]") + "}", "1234"),
         "tensor 'w': data_offsets [4,0] end before they begin"},
        {"offsets out of bounds", safetensors_bytes("{" + tensor("w", "F32", "[4]", "[0,16]") + "}", eight_bytes),
         "tensor 'w': data_offsets [0,16] reach past the 8 bytes of data in the file (truncated file?)"},
        {"size does not match the shape",
         safetensors_bytes("{" + tensor("w", "F32", "[3]", "[0,8]") + "}", eight_bytes),
         "tensor 'w': data_offsets [0,8] hold 8 bytes, but shape [3] of F32 needs 12"},
        {"overlapping tensors",
         safetensors_bytes("{" + tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("b", "F32", "[2]", "[2,10]") + "," +
                               tensor("c", "U8", "[0]", "[1,1]") + "}",
                           eight_bytes + "12"),
         "tensor 'b': bytes [2, 10) overlap those of tensor 'a' [0, 4)"},
        {"duplicate name",
         safetensors_bytes("{" + tensor("w", "U8", "[4]", "[0,4]") + "," + tensor("w", "U8", "[4]", "[4,8]") + "}",
                           eight_bytes),
         "tensor 'w': the name appears twice in the header"},
        {"too many tensors",
         safetensors_bytes("{" + tensor("a", "U8", "[4]", "[0,4]") + "," + tensor("b", "U8", "[4]", "[4,8]") + "}",
                           eight_bytes),
         "the number of tensors in the header 2 exceeds the limit max_tensors = 1; if the file is trusted, raise it "
         "with CLIPFT_LIMITS=max_tensors=N (or clipft::io::limits())",
         {.max_tensors = 1}},
        {"tensor beyond the size limit",
         safetensors_bytes("{" + tensor("w", "F32", "[2]", "[0,8]") + "}", eight_bytes),
         "tensor 'w': its size in bytes 8 exceeds the limit max_tensor_bytes = 7; if the file is trusted, raise it "
         "with CLIPFT_LIMITS=max_tensor_bytes=N (or clipft::io::limits())",
         {.max_tensor_bytes = 7}},
        {"file beyond the size limit",
         safetensors_bytes("{}", eight_bytes),
         "the file size 18 exceeds the limit max_safetensors_file_bytes = 17; if the file is trusted, raise it with "
         "CLIPFT_LIMITS=max_safetensors_file_bytes=N (or clipft::io::limits())",
         {.max_safetensors_file_bytes = 17}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        write_bytes(path, c.bytes);
        CHECK(error_message([&] { io::load_safetensors(path, c.limits); }) == file + ": " + c.message);
    }

    // Tensors that share no bytes are fine: empty tensors anywhere, and gaps between tensors.
    write_bytes(path,
                safetensors_bytes("{" + tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("e", "F32", "[0]", "[2,2]") +
                                      "," + tensor("b", "U8", "[2]", "[6,8]") + "}",
                                  eight_bytes));
    CHECK(io::load_safetensors(path).names() == std::vector<std::string>{"a", "e", "b"});

    std::filesystem::path missing = directory / "missing.safetensors";
    CHECK(error_message([&] { io::load_safetensors(missing); }) ==
          missing.string() + ": cannot open: No such file or directory");
    CHECK(error_message([&] { io::load_safetensors(directory.path()); }) ==
          directory.path().string() + ": not a regular file");
}
