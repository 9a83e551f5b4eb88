// CLIP's tokenizer against OpenAI's reference outputs (shared fixtures: every case, both vocabulary
// sources), the pre-tokenizer's corner cases, decoding, batches, and bad files and arguments.
#include <clipft/text/tokenizer.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace clipft;
using testing::error_message;
using namespace clipft::text;
using clipft::testing::fixture_path;
using clipft::testing::read_bytes;
using clipft::testing::TemporaryDirectory;
using clipft::testing::write_bytes;

namespace {

// The two tokenizers, loaded once; null when the shared fixtures are missing (the test then skips).
const Tokenizer* from_gz() {
    static const std::optional<Tokenizer> tokenizer = []() -> std::optional<Tokenizer> {
        auto path = fixture_path("clip/bpe_simple_vocab_16e6.txt.gz");
        if (path.empty()) return std::nullopt;
        return Tokenizer::load(path);
    }();
    return tokenizer ? &*tokenizer : nullptr;
}

const Tokenizer* from_json() {
    static const std::optional<Tokenizer> tokenizer = []() -> std::optional<Tokenizer> {
        auto path = fixture_path("clip/vocab.json");
        if (path.empty()) return std::nullopt;
        return Tokenizer::load(path.parent_path());
    }();
    return tokenizer ? &*tokenizer : nullptr;
}

std::string from_hex(const std::string& hex) {
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes += char(std::stoi(hex.substr(i, 2), nullptr, 16));
    return bytes;
}

std::vector<std::string> pieces(std::u32string_view text) {
    std::vector<std::string> result;
    for (std::u32string_view piece : pre_tokenize(text)) result.push_back(to_utf8(piece));
    return result;
}

} // namespace

TEST_CASE("byte symbols: GPT-2's byte-to-unicode map and CLIP's vocabulary order") {
    const auto& map = byte_to_unicode();
    CHECK(map['a'] == U'a');
    CHECK(map[0xE9] == U'é');
    CHECK(map[0] == U'\u0100');    // the first non-printable byte
    CHECK(map[' '] == U'\u0120');  // 'Ġ': 33rd non-printable byte
    CHECK(map[0xAD] == U'\u0143'); // the last one
    CHECK(byte_symbol_order()[0] == '!');
    CHECK(byte_symbol_order()[187] == 0xFF);
    CHECK(byte_symbol_order()[188] == 0x00);
    CHECK(byte_symbol_order()[255] == 0xAD);
}

TEST_CASE("pre_tokenize: CLIP's pattern, case-insensitive") {
    CHECK(pieces(U"it's a dog's life, isn't it?") ==
          std::vector<std::string>{"it", "'s", "a", "dog", "'s", "life", ",", "isn", "'t", "it", "?"});
    CHECK(pieces(U"'tis rock 'n' roll ''s") ==
          std::vector<std::string>{"'t", "is", "rock", "'", "n", "'", "roll", "''", "s"});
    CHECK(pieces(U"a1b22 ½³ -4.5") == std::vector<std::string>{"a", "1", "b", "2", "2", "½", "³", "-", "4", ".", "5"});
    CHECK(pieces(U"<|startoftext|>hi<|endoftext|><|end") ==
          std::vector<std::string>{"<|startoftext|>", "hi", "<|endoftext|>", "<|", "end"});
    CHECK(pieces(U"it'ſ <|ſtartoftext|>") == std::vector<std::string>{"it", "'ſ", "<|ſtartoftext|>"}); // ſ folds to s
    CHECK(pieces(U"a\u0345b i\u0307x") == std::vector<std::string>{"a", "b", "i", "\u0307", "x"}); // U+0345 is dropped
    CHECK(pieces(U"c++ ...!? 😀👍") == std::vector<std::string>{"c", "++", "...!?", "😀👍"});
    CHECK(pieces(U"").empty());
}

TEST_CASE("every reference case, from both vocabulary sources") {
    auto cases_path = fixture_path("tokenizer_cases.json");
    if (cases_path.empty() || !from_gz() || !from_json()) return;
    io::Json cases = io::read_json_file(cases_path);
    REQUIRE(cases.size() == 43);
    for (const Tokenizer* tokenizer : {from_gz(), from_json()}) {
        CHECK(tokenizer->vocab_size() == 49408);
        CHECK(tokenizer->start_of_text() == 49406);
        CHECK(tokenizer->end_of_text() == 49407);
        for (const auto& reference : cases) {
            std::string text = reference["text"];
            CAPTURE(text);
            CHECK(text == from_hex(reference["text_utf8_hex"].get<std::string>())); // the JSON parser kept every byte
            CHECK(clean_text(text) == reference["cleaned"].get<std::string>());
            CHECK(tokenizer->bpe_tokens(text) == reference["bpe_tokens"].get<std::vector<std::string>>());
            std::vector<std::int64_t> ids = tokenizer->tokenize(text);
            CHECK(ids == reference["ids"].get<std::vector<std::int64_t>>());
            CHECK(std::int64_t(ids.size()) == reference["n_tokens"].get<std::int64_t>());
            CHECK(tokenizer->tokenize(text, 77, true) == reference["tokenize77"].get<std::vector<std::int64_t>>());
            if (!reference["truncated"].get<bool>())
                CHECK(tokenizer->tokenize(text, 77) == reference["tokenize77"].get<std::vector<std::int64_t>>());
        }
    }
}

TEST_CASE("decoding") {
    const Tokenizer* tokenizer = from_gz();
    if (!tokenizer) return;
    CHECK(tokenizer->decode(tokenizer->tokenize("A photo of a CAT, on a sofa!")) ==
          "<|startoftext|>a photo of a cat , on a sofa ! <|endoftext|>");
    CHECK(tokenizer->decode(tokenizer->tokenize("Zürich 東京 😀", 11)) ==
          "<|startoftext|>zürich 東京 😀 <|endoftext|>!!"); // padding is id 0, '!'
    SUBCASE("bytes of a split character decode as U+FFFD") {
        std::vector<std::int64_t> ids = {*tokenizer->token_id("\u00C3"), *tokenizer->token_id("\u00A9</w>")}; // é
        CHECK(tokenizer->decode(ids) == "é ");
        CHECK(tokenizer->decode(std::vector<std::int64_t>{ids[0]}) == "\uFFFD");
    }
    SUBCASE("decoding then encoding gives the same tokens") {
        for (std::string text : {"The image of a person.", "It's 3.14 & it isn't <b>bold</b>!", "İstanbul ΣΟΦΟΣ café",
                                 "emoji 😀🐱 and 👨\u200D👩", "<|startoftext|>special<|endoftext|>"}) {
            std::vector<std::int64_t> ids = tokenizer->encode(text);
            CHECK(tokenizer->encode(tokenizer->decode(ids)) == ids);
        }
    }
    CHECK_THROWS_WITH_AS(tokenizer->decode(std::vector<std::int64_t>{5, 49408}),
                         doctest::Contains("decode: 49408 is not a token id"), Error);
    CHECK_THROWS_AS(tokenizer->decode(std::vector<std::int64_t>{-1}), Error);
}

TEST_CASE("context length, truncation and batches") {
    const Tokenizer* tokenizer = from_gz();
    if (!tokenizer) return;
    std::vector<std::int64_t> full = tokenizer->tokenize("a photo of a cat"); // 7 ids
    REQUIRE(full.size() == 7);
    std::vector<std::int64_t> padded = tokenizer->tokenize("a photo of a cat", 10);
    CHECK(std::vector<std::int64_t>(padded.begin(), padded.begin() + 7) == full);
    CHECK(std::vector<std::int64_t>(padded.begin() + 7, padded.end()) == std::vector<std::int64_t>{0, 0, 0});
    CHECK(tokenizer->tokenize("a photo of a cat", 7) == full);
    std::vector<std::int64_t> cut = tokenizer->tokenize("a photo of a cat", 4, true);
    CHECK(cut == std::vector<std::int64_t>{full[0], full[1], full[2], 49407});
    CHECK(tokenizer->tokenize("a photo of a cat", 1, true) == std::vector<std::int64_t>{49407});
    CHECK_THROWS_WITH_AS(tokenizer->tokenize("a photo of a cat", 6),
                         "tokenize: \"a photo of a cat\" is 7 tokens long, more than the context length 6; shorten it "
                         "or allow truncation",
                         Error);
    CHECK_THROWS_WITH_AS(tokenizer->tokenize("a", 0, true), "tokenize: the context length must be at least 1, got 0",
                         Error);
    CHECK_THROWS_AS(tokenizer->tokenize("bad \xC3 byte"), Error);

    std::vector<std::string> texts = {"a photo of a cat", "", std::string(300, 'x') + " long"};
    Tensor<std::int64_t> batch = tokenizer->tokenize_batch(texts, 77, true);
    CHECK(batch.shape() == Shape{3, 77});
    for (std::int64_t row = 0; row < 3; ++row) {
        std::vector<std::int64_t> expected = tokenizer->tokenize(texts[std::size_t(row)], 77, true);
        CHECK(std::vector<std::int64_t>(batch.data() + row * 77, batch.data() + (row + 1) * 77) == expected);
    }
    CHECK_THROWS_AS(tokenizer->tokenize_batch(texts), Error); // the long one, without truncation
}

TEST_CASE("concurrent encoding shares the cache safely") {
    const Tokenizer* tokenizer = from_gz();
    if (!tokenizer) return;
    std::vector<std::string> texts;
    for (int i = 0; i < 200; ++i) texts.push_back("description number " + std::to_string(i) + " of a blurry face");
    std::vector<std::vector<std::int64_t>> expected;
    for (const std::string& text : texts) expected.push_back(tokenizer->encode(text));
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    Tokenizer copy = *tokenizer; // copies share vocabulary and cache
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round)
                for (std::size_t i = 0; i < texts.size(); ++i)
                    if ((t % 2 ? copy : *tokenizer).encode(texts[(i + std::size_t(t) * 37) % texts.size()]) !=
                        expected[(i + std::size_t(t) * 37) % texts.size()])
                        ++mismatches[std::size_t(t)];
        });
    for (auto& thread : threads) thread.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("bad vocabulary files") {
    auto gz = fixture_path("clip/bpe_simple_vocab_16e6.txt.gz");
    auto vocab = fixture_path("clip/vocab.json");
    if (gz.empty() || vocab.empty()) return;
    TemporaryDirectory directory;

    SUBCASE("missing file") {
        auto missing = directory / "nothing.txt.gz";
        CHECK_THROWS_WITH_AS(Tokenizer::load(missing),
                             doctest::Contains((missing.string() + " does not exist").c_str()), Error);
        CHECK_THROWS_WITH_AS(Tokenizer::from_bpe_file(missing),
                             doctest::Contains((missing.string() + ": cannot open").c_str()), Error);
        CHECK_THROWS_WITH_AS(Tokenizer::load(directory.path()), doctest::Contains("vocab.json: cannot open"), Error);
    }
    SUBCASE("truncated gzip") {
        std::string bytes = read_bytes(gz);
        auto truncated = directory / "truncated.txt.gz";
        write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_WITH_AS(Tokenizer::load(truncated),
                             doctest::Contains((truncated.string() + ": truncated gzip data").c_str()), Error);
        write_bytes(truncated, "");
        CHECK_THROWS_WITH_AS(Tokenizer::load(truncated), doctest::Contains("truncated gzip data"), Error);
    }
    SUBCASE("corrupt gzip") {
        std::string bytes = read_bytes(gz);
        for (std::size_t i = 1000; i < 1200; ++i) bytes[i] = char(bytes[i] ^ 0x5A);
        auto corrupt = directory / "corrupt.txt.gz";
        write_bytes(corrupt, bytes);
        CHECK_THROWS_WITH_AS(Tokenizer::load(corrupt),
                             doctest::Contains((corrupt.string() + ": corrupt gzip data").c_str()), Error);
        auto plain = directory / "plain.txt";
        write_bytes(plain, "#version: 0.2\nh e\n");
        CHECK_THROWS_WITH_AS(Tokenizer::load(plain),
                             doctest::Contains((plain.string() + ": corrupt gzip data").c_str()), Error);
    }
    SUBCASE("vocab.json without a token a merge needs") {
        io::Json json = io::read_json_file(vocab);
        REQUIRE(json.erase("photo</w>") == 1);
        write_bytes(directory / "vocab.json", json.dump());
        write_bytes(directory / "merges.txt", read_bytes(vocab.parent_path() / "merges.txt"));
        std::string message = error_message([&] { Tokenizer::load(directory.path()); });
        CHECK(message.find("the vocabulary has no token \"photo</w>\" (needed by the merge on line") !=
              std::string::npos);
        CHECK(message.find("merges.txt") != std::string::npos);
    }
    SUBCASE("malformed vocab.json and merges.txt") {
        write_bytes(directory / "merges.txt", "#version: 0.2\na b c\n");
        write_bytes(directory / "vocab.json", "[1, 2]");
        CHECK_THROWS_WITH_AS(Tokenizer::load(directory.path()), doctest::Contains("expected a JSON object"), Error);
        write_bytes(directory / "vocab.json", "{\"a\": -3}");
        CHECK_THROWS_WITH_AS(Tokenizer::load(directory.path()), doctest::Contains("the id of \"a\" is -3"), Error);
        write_bytes(directory / "vocab.json", "{\"a\": 0, \"b\": 1}");
        CHECK_THROWS_WITH_AS(Tokenizer::load(directory.path()),
                             doctest::Contains("line 2 should be a merge, two symbols separated by a space"), Error);
    }
}
