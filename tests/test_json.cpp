// io/json.hpp: parse errors and out-of-range numbers name the source, files are read within a
// limit, and whole numbers are read without out-of-range conversions.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/io/json.hpp>

using namespace clipft;

TEST_CASE("json: malformed text is a clipft::Error naming the source") {
    CHECK_THROWS_WITH_AS(io::parse_json("{\"a\": nope}", "c.json", 8),
                         doctest::Contains("c.json: invalid JSON at byte 15 of the file: parse error"), Error);
    // Found by fuzz/fuzz_clip_config.cpp: nlohmann reports a number beyond double's range as
    // out_of_range, which escaped as a foreign exception.
    CHECK_THROWS_WITH_AS(io::parse_json("{\"v\": 1e4444}", "c.json"),
                         "c.json: invalid JSON: number overflow parsing '1e4444'", Error);
    const std::string long_number = "{\"v\": " + std::string(400, '9') + "e999}";
    CHECK(testing::error_message([&] { io::parse_json(long_number, "c.json"); }).size() < 200);
}

TEST_CASE("json: whole numbers only, within int64") {
    CHECK(io::json_integer(io::Json(-3), "x") == -3);
    CHECK(io::json_integer(io::Json(std::uint64_t(INT64_MAX)), "x") == INT64_MAX);
    CHECK_THROWS_WITH_AS(io::json_integer(io::Json(1e300), "step"),
                         "step must be a whole number below 2^63, not 1e+300", Error);
    CHECK_THROWS_WITH_AS(io::json_integer(io::Json(2.5), "step"), "step must be a whole number below 2^63, not 2.5",
                         Error);
    CHECK_THROWS_WITH_AS(io::json_integer(io::Json(std::uint64_t(INT64_MAX) + 1), "step"),
                         "step must be a whole number below 2^63, not 9223372036854775808", Error);
    CHECK_THROWS_WITH_AS(io::json_integer(io::Json("7"), "step"), "step must be a whole number below 2^63, not \"7\"",
                         Error);
}

TEST_CASE("json: files are read within a size limit") {
    testing::TemporaryDirectory directory;
    testing::write_bytes(directory / "a.json", "[1, 2, 3]");
    CHECK(io::read_json_file(directory / "a.json", {.max_json_bytes = 9}).size() == 3);
    CHECK_THROWS_WITH_AS(
        io::read_json_file(directory / "a.json", {.max_json_bytes = 8}),
        doctest::Contains(
            ((directory / "a.json").string() + ": the file size 9 exceeds the limit max_json_bytes = 8").c_str()),
        Error);
    CHECK_THROWS_WITH_AS(io::read_json_file(directory / "missing.json"), doctest::Contains("missing.json: cannot open"),
                         Error);
}
