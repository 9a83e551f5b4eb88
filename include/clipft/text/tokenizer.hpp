#pragma once
// CLIP's byte-level BPE tokenizer, token for token what OpenAI's clip.simple_tokenizer and
// clip.tokenize produce:
//   1. clean_text (text_cleaning.hpp): ftfy, HTML unescaping, whitespace, lower case;
//   2. pre_tokenize: the words, by CLIP's pattern
//        <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//      (case-insensitive), taken left to right; characters no alternative matches are dropped;
//   3. each word's UTF-8 bytes as the 256 byte symbols, the last one marked as word end ("</w>"),
//      then merged pairwise, lowest merge rank first (every occurrence left to right), until no
//      ranked pair is left; words are cached;
//   4. tokenize(): <|startoftext|> + tokens + <|endoftext|>, padded with 0 to the context length;
//      longer texts are an error, or with `truncate` cut to the context with <|endoftext|> last.
// The vocabulary comes from CLIP's bpe_simple_vocab_16e6.txt.gz (gzip, read with zlib) or from
// HuggingFace's vocab.json + merges.txt; both give identical ids.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/json.hpp>
#include <clipft/tensor.hpp>
#include <clipft/text/text_cleaning.hpp>
#include <clipft/text/unicode.hpp>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::text {

// GPT-2's reversible byte -> character map: printable Latin-1 bytes stand for themselves, the other
// 68 bytes (controls, space, NBSP, soft hyphen) for U+0100 onwards, so no byte is whitespace.
inline const std::array<char32_t, 256>& byte_to_unicode() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> result{};
        char32_t next = 256;
        for (int byte = 0; byte < 256; ++byte) {
            bool printable =
                (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
            result[std::size_t(byte)] = printable ? char32_t(byte) : next++;
        }
        return result;
    }();
    return table;
}

// The bytes in the order of CLIP's first 256 vocabulary entries: the printable ones, then the rest.
inline const std::array<std::uint8_t, 256>& byte_symbol_order() {
    static const std::array<std::uint8_t, 256> order = [] {
        std::array<std::uint8_t, 256> result{};
        std::size_t next = 0;
        for (int pass = 0; pass < 2; ++pass)
            for (int byte = 0; byte < 256; ++byte)
                if ((byte_to_unicode()[std::size_t(byte)] < 256) == (pass == 0)) result[next++] = std::uint8_t(byte);
        return result;
    }();
    return order;
}

namespace detail {

inline bool equal_ignoring_case(char32_t c, char32_t lower_ascii) {
    if (c == lower_ascii) return true;
    if (lower_ascii >= 'a' && lower_ascii <= 'z' && c == lower_ascii - 'a' + 'A') return true;
    return lower_ascii == 's' && c == U'ſ'; // U+017F folds to 's'
}

// The length of the first of CLIP's literal alternatives that matches at text[pos], or 0.
inline std::size_t literal_match(std::u32string_view text, std::size_t pos) {
    static constexpr std::u32string_view literals[] = {
        U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
    if (text[pos] != U'<' && text[pos] != U'\'') return 0;
    for (std::u32string_view literal : literals) {
        if (pos + literal.size() > text.size()) continue;
        std::size_t i = 0;
        while (i < literal.size() && equal_ignoring_case(text[pos + i], literal[i])) ++i;
        if (i == literal.size()) return i;
    }
    return 0;
}

// [^\s\p{L}\p{N}] under IGNORECASE.
inline bool is_other(char32_t c) {
    return !is_whitespace(c) && !is_letter(c) && !is_number(c) && !has_letter_or_number_case_variant(c);
}

} // namespace detail

// CLIP's pre-tokenizer on cleaned text (see the top of this header): views into `text`.
inline std::vector<std::u32string_view> pre_tokenize(std::u32string_view text) {
    std::vector<std::u32string_view> pieces;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t length = detail::literal_match(text, pos);
        if (length == 0) {
            char32_t c = text[pos];
            auto run = [&](auto&& member) {
                std::size_t end = pos;
                while (end < text.size() && member(text[end])) ++end;
                return end - pos;
            };
            if (is_letter(c))
                length = run(is_letter);
            else if (is_number(c))
                length = 1;
            else if (detail::is_other(c))
                length = run(detail::is_other);
        }
        if (length == 0) {
            ++pos; // whitespace, or U+0345 (see has_letter_or_number_case_variant)
            continue;
        }
        pieces.push_back(text.substr(pos, length));
        pos += length;
    }
    return pieces;
}

namespace detail {

// The decompressed content of gzip data (all members, as Python's gzip module reads them), refused
// beyond `max_bytes` (io::Limits::max_vocabulary_bytes: a small file may inflate enormously).
inline std::string gunzip(std::string_view compressed, const std::string& source, std::uint64_t max_bytes) {
    if (compressed.size() > std::numeric_limits<uInt>::max()) fail(source, ": too large for a vocabulary file");
    z_stream stream{};
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) fail(source, ": zlib cannot start decompressing");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = uInt(compressed.size());
    std::string out;
    std::size_t produced = 0;
    while (true) {
        if (produced == out.size()) {
            if (produced >= max_bytes)
                fail(source, ": decompresses to more than the limit max_vocabulary_bytes = ", max_bytes, " bytes",
                     io::how_to_raise("max_vocabulary_bytes"));
            out.resize(std::min<std::size_t>(std::max<std::size_t>(out.size() * 2, 1 << 20), max_bytes));
        }
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        stream.avail_out = uInt(out.size() - produced);
        int status = inflate(&stream, Z_NO_FLUSH);
        produced = out.size() - stream.avail_out;
        if (status == Z_STREAM_END) {
            if (stream.avail_in == 0) break;
            inflateReset(&stream); // another gzip member follows
            continue;
        }
        if (status == Z_OK) continue;
        if (status == Z_BUF_ERROR && stream.avail_in == 0)
            fail(source, ": truncated gzip data (the file ends inside the compressed stream); the file is incomplete");
        if (status != Z_BUF_ERROR)
            fail(source, ": corrupt gzip data (", stream.msg ? stream.msg : zError(status),
                 "); expected CLIP's gzip-compressed merges file");
    }
    out.resize(produced);
    return out;
}

// Splits on Python's str.split() whitespace.
inline std::vector<std::string> split_whitespace(std::string_view line, std::string_view what) {
    std::u32string text = from_utf8(line, what);
    std::vector<std::string> parts;
    for (std::size_t pos = 0; pos < text.size();) {
        if (is_python_space(text[pos])) {
            ++pos;
            continue;
        }
        std::size_t end = pos;
        while (end < text.size() && !is_python_space(text[end])) ++end;
        parts.push_back(to_utf8(std::u32string_view(text).substr(pos, end - pos)));
        pos = end;
    }
    return parts;
}

struct Merge {
    std::int32_t rank = -1;   // lower merges first
    std::int32_t merged = -1; // the id of the joined symbol
};

// Open-addressing hash table from a pair of symbol ids to its merge.
class MergeTable {
public:
    void reserve(std::size_t count) {
        std::size_t capacity = 16;
        while (capacity < 2 * count) capacity *= 2;
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
    }
    void insert_or_assign(std::int32_t left, std::int32_t right, Merge merge) {
        std::uint64_t key = pack(left, right);
        std::size_t i = hash(key);
        while (slots_[i].key != empty_key && slots_[i].key != key) i = (i + 1) & mask_;
        slots_[i] = {key, merge};
    }
    Merge find(std::int32_t left, std::int32_t right) const {
        std::uint64_t key = pack(left, right);
        for (std::size_t i = hash(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return slots_[i].merge;
            if (slots_[i].key == empty_key) return {};
        }
    }

private:
    static constexpr std::uint64_t empty_key = ~std::uint64_t(0);
    struct Slot {
        std::uint64_t key = empty_key;
        Merge merge;
    };
    static std::uint64_t pack(std::int32_t left, std::int32_t right) {
        return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
    }
    std::size_t hash(std::uint64_t key) const { return std::size_t((key * 0x9E3779B97F4A7C15ull) >> 32) & mask_; }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

struct Vocabulary {
    std::string source;                                       // the file(s), for messages
    std::vector<std::string> tokens;                          // id -> token; empty where no token has the id
    std::unordered_map<std::string, std::int32_t> ids;        // token -> id
    std::vector<std::optional<std::string>> bytes;            // id -> the bytes its symbols stand for
    std::array<std::int32_t, 256> byte_ids{}, byte_end_ids{}; // a byte's symbol inside / at the end of a word
    MergeTable merges;
    std::int32_t start_of_text = 0, end_of_text = 0;
};

// Completes a vocabulary whose tokens and ids are set: symbol ids, merge table, special tokens and
// the decoding bytes. `where(i)` names merge i's origin for messages.
template <typename Where>
void finish_vocabulary(Vocabulary& vocabulary, const std::vector<std::pair<std::string, std::string>>& merges,
                       Where&& where) {
    // The id of `token`; `why()` says what needs it when it is missing (built only then).
    auto id_of = [&](const std::string& token, auto&& why) {
        auto found = vocabulary.ids.find(token);
        if (found == vocabulary.ids.end())
            fail(vocabulary.source, ": the vocabulary has no token \"", token, "\" (", why(), ")");
        return found->second;
    };
    for (int byte = 0; byte < 256; ++byte) {
        std::string symbol;
        append_utf8(symbol, byte_to_unicode()[std::size_t(byte)]);
        auto byte_name = [&](const char* kind) { return std::string(kind) + " of byte " + std::to_string(byte); };
        vocabulary.byte_ids[std::size_t(byte)] = id_of(symbol, [&] { return byte_name("the symbol"); });
        vocabulary.byte_end_ids[std::size_t(byte)] =
            id_of(symbol + "</w>", [&] { return byte_name("the word-end symbol"); });
    }
    vocabulary.merges.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const auto& [left, right] = merges[i];
        auto needed = [&] { return "needed by " + where(i); };
        std::int32_t left_id = id_of(left, needed), right_id = id_of(right, needed);
        vocabulary.merges.insert_or_assign(left_id, right_id, {std::int32_t(i), id_of(left + right, needed)});
    }
    auto special = [] { return std::string("a special token"); };
    vocabulary.start_of_text = id_of("<|startoftext|>", special);
    vocabulary.end_of_text = id_of("<|endoftext|>", special);

    std::array<int, 512> byte_of{}; // byte symbol -> byte; all byte symbols lie below U+0200
    byte_of.fill(-1);
    for (int byte = 0; byte < 256; ++byte) byte_of[byte_to_unicode()[std::size_t(byte)]] = byte;
    vocabulary.bytes.resize(vocabulary.tokens.size());
    for (std::size_t id = 0; id < vocabulary.tokens.size(); ++id) {
        std::string bytes;
        bool decodable = !vocabulary.tokens[id].empty();
        for (char32_t c : from_utf8(vocabulary.tokens[id], vocabulary.source)) {
            decodable = decodable && c < byte_of.size() && byte_of[c] >= 0;
            if (decodable) bytes += char(byte_of[c]);
        }
        if (decodable) vocabulary.bytes[id] = std::move(bytes);
    }
}

struct BpeCache {
    static constexpr std::size_t max_entries = 1 << 18; // cleared when full, bounding memory on endless streams
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>> words;
};

} // namespace detail

class Tokenizer {
public:
    static constexpr std::int64_t default_context = 77;
    // CLIP's merges file keeps 262144 merges; its 49408-token vocabulary uses the first 48894
    // (49408 = 256 bytes + 256 word-end bytes + merges + 2 special tokens).
    static constexpr std::size_t clip_merges = 49408 - 512 - 2;

    // `path`: CLIP's bpe_simple_vocab_16e6.txt.gz, or a directory holding vocab.json and merges.txt.
    static Tokenizer load(const std::filesystem::path& path, const io::Limits& limits = io::limits()) {
        std::error_code error;
        if (std::filesystem::is_directory(path, error))
            return from_vocab_files(path / "vocab.json", path / "merges.txt", limits);
        if (!std::filesystem::exists(path, error))
            fail("tokenizer: ", path.string(),
                 " does not exist; pass CLIP's bpe_simple_vocab_16e6.txt.gz or a directory "
                 "holding vocab.json and merges.txt");
        return from_bpe_file(path, limits);
    }

    // CLIP's bpe_simple_vocab_16e6.txt.gz: a version line, then one merge per line.
    static Tokenizer from_bpe_file(const std::filesystem::path& path, const io::Limits& limits = io::limits()) {
        const std::string source = path.string();
        std::string text = detail::gunzip(io::read_file_text(path, limits.max_vocabulary_bytes, "max_vocabulary_bytes"),
                                          source, limits.max_vocabulary_bytes);
        std::vector<std::pair<std::string, std::string>> merges;
        merges.reserve(clip_merges);
        std::size_t line_start = text.find('\n');
        for (std::size_t line = 1; line <= clip_merges; ++line) {
            if (line_start == std::string::npos)
                fail(source, ": holds ", line - 1, " merges; CLIP's vocabulary needs the first ", clip_merges);
            std::size_t line_end = text.find('\n', line_start + 1);
            std::string_view content = std::string_view(text).substr(
                line_start + 1, line_end == std::string::npos ? std::string::npos : line_end - line_start - 1);
            merges.push_back(parse_merge(detail::split_whitespace(content, source), content, line + 1, source));
            line_start = line_end;
        }
        auto vocabulary = std::make_shared<detail::Vocabulary>();
        vocabulary->source = source;
        auto add = [&](std::string token) {
            // A later duplicate wins, as in SimpleTokenizer's dict.
            vocabulary->ids.insert_or_assign(token, std::int32_t(vocabulary->tokens.size()));
            vocabulary->tokens.push_back(std::move(token));
        };
        for (const char* suffix : {"", "</w>"}) {
            for (std::uint8_t byte : byte_symbol_order()) {
                std::string symbol;
                append_utf8(symbol, byte_to_unicode()[byte]);
                add(symbol + suffix);
            }
        }
        for (const auto& [left, right] : merges) add(left + right);
        add("<|startoftext|>");
        add("<|endoftext|>");
        detail::finish_vocabulary(*vocabulary, merges, [&](std::size_t i) { return merge_origin(i + 2, source); });
        return Tokenizer(std::move(vocabulary));
    }

    // HuggingFace's files: vocab.json maps tokens to ids; merges.txt holds one merge per line in rank
    // order, after an optional "#version" line.
    static Tokenizer from_vocab_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                                      const io::Limits& limits = io::limits()) {
        auto vocabulary = std::make_shared<detail::Vocabulary>();
        vocabulary->source = vocab_json.string() + " and " + merges_txt.string();
        io::Json json = io::parse_json(
            io::read_file_text(vocab_json, limits.max_vocabulary_bytes, "max_vocabulary_bytes"), vocab_json.string());
        if (!json.is_object()) fail(vocab_json.string(), ": expected a JSON object mapping tokens to ids");
        // Ids index a table, so a single huge id would allocate it: ids stay below the token limit.
        const std::int64_t max_id = std::int64_t(std::min<std::uint64_t>(limits.max_vocabulary_tokens,
                                                                         std::numeric_limits<std::int32_t>::max())) -
                                    1;
        for (const auto& [token, value] : json.items()) {
            if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > max_id)
                fail(vocab_json.string(), ": the id of \"", token, "\" is ", value.dump(), ", not an integer in 0..",
                     max_id, " (ids lie below the limit max_vocabulary_tokens",
                     io::how_to_raise("max_vocabulary_tokens"), ")");
            auto id = std::size_t(value.get<std::int64_t>());
            if (id >= vocabulary->tokens.size()) vocabulary->tokens.resize(id + 1);
            if (!vocabulary->tokens[id].empty())
                fail(vocab_json.string(), ": id ", id, " belongs to both \"", vocabulary->tokens[id], "\" and \"",
                     token, "\"");
            if (token.empty()) fail(vocab_json.string(), ": the empty string is not a token (id ", id, ")");
            vocabulary->tokens[id] = token;
            vocabulary->ids.emplace(token, std::int32_t(id));
        }
        std::string text = io::read_file_text(merges_txt, limits.max_vocabulary_bytes, "max_vocabulary_bytes");
        std::vector<std::pair<std::string, std::string>> merges;
        std::vector<std::size_t> merge_lines;
        std::size_t line = 0;
        for (std::size_t start = 0; start < text.size();) {
            std::size_t end = std::min(text.find('\n', start), text.size());
            std::string_view content = std::string_view(text).substr(start, end - start);
            ++line;
            start = end + 1;
            std::vector<std::string> parts = detail::split_whitespace(content, merges_txt.string());
            if ((line == 1 && content.starts_with("#version")) || parts.empty()) continue;
            merges.push_back(parse_merge(std::move(parts), content, line, merges_txt.string()));
            merge_lines.push_back(line);
        }
        detail::finish_vocabulary(*vocabulary, merges,
                                  [&](std::size_t i) { return merge_origin(merge_lines[i], merges_txt.string()); });
        return Tokenizer(std::move(vocabulary));
    }

    std::int64_t vocab_size() const { return std::int64_t(vocabulary_->tokens.size()); }
    std::int64_t start_of_text() const { return vocabulary_->start_of_text; }
    std::int64_t end_of_text() const { return vocabulary_->end_of_text; }

    // The vocabulary string of `id` (byte symbols; "</w>" ends a word).
    const std::string& token(std::int64_t id) const {
        check_id("Tokenizer::token", id);
        return vocabulary_->tokens[std::size_t(id)];
    }
    std::optional<std::int64_t> token_id(std::string_view token) const {
        auto found = vocabulary_->ids.find(std::string(token));
        if (found == vocabulary_->ids.end()) return std::nullopt;
        return found->second;
    }

    // The token ids of `text` (UTF-8), without start and end markers: SimpleTokenizer.encode().
    std::vector<std::int64_t> encode(std::string_view text) const {
        std::u32string cleaned = clean_text(from_utf8(text, "tokenize: the text"));
        std::vector<std::int64_t> ids;
        std::vector<std::int32_t> word;
        std::string bytes;
        for (std::u32string_view piece : pre_tokenize(cleaned)) {
            if (piece == U"<|startoftext|>" || piece == U"<|endoftext|>") {
                ids.push_back(piece == U"<|startoftext|>" ? start_of_text() : end_of_text());
                continue;
            }
            bytes.clear();
            for (char32_t c : piece) append_utf8(bytes, c);
            bpe(bytes, word);
            ids.insert(ids.end(), word.begin(), word.end());
        }
        return ids;
    }

    // The vocabulary strings of encode(text).
    std::vector<std::string> bpe_tokens(std::string_view text) const {
        std::vector<std::string> tokens;
        for (std::int64_t id : encode(text)) tokens.push_back(token(id));
        return tokens;
    }

    // <|startoftext|>, the tokens of `text`, <|endoftext|>: the full encoding, never cut.
    std::vector<std::int64_t> tokenize(std::string_view text) const {
        std::vector<std::int64_t> ids{start_of_text()};
        std::vector<std::int64_t> body = encode(text);
        ids.insert(ids.end(), body.begin(), body.end());
        ids.push_back(end_of_text());
        return ids;
    }

    // Exactly `context` ids as clip.tokenize() gives them: the full encoding padded with 0; a longer
    // one is an error, or with `truncate` cut to `context` with <|endoftext|> last.
    std::vector<std::int64_t> tokenize(std::string_view text, std::int64_t context, bool truncate = false) const {
        if (context < 1) fail("tokenize: the context length must be at least 1, got ", context);
        std::vector<std::int64_t> ids = tokenize(text);
        if (std::int64_t(ids.size()) > context) {
            if (!truncate)
                fail("tokenize: \"", abbreviate(text), "\" is ", ids.size(),
                     " tokens long, more than the context length ", context, "; shorten it or allow truncation");
            ids.resize(std::size_t(context));
            ids.back() = end_of_text();
        }
        ids.resize(std::size_t(context), 0);
        return ids;
    }

    // clip.tokenize(texts, context, truncate): one row of `context` ids per text.
    Tensor<std::int64_t> tokenize_batch(std::span<const std::string> texts, std::int64_t context = default_context,
                                        bool truncate = false) const {
        Tensor<std::int64_t> result = Tensor<std::int64_t>::empty({std::int64_t(texts.size()), context});
        for (std::size_t row = 0; row < texts.size(); ++row) {
            std::vector<std::int64_t> ids = tokenize(texts[row], context, truncate);
            std::copy(ids.begin(), ids.end(), result.data() + std::int64_t(row) * context);
        }
        return result;
    }

    // The text of `ids` as SimpleTokenizer.decode() gives it: the bytes of all tokens decoded as UTF-8
    // (invalid sequences become U+FFFD), each "</w>" a space; markers and padding stay as text.
    std::string decode(std::span<const std::int64_t> ids) const {
        std::string bytes;
        for (std::int64_t id : ids) {
            check_id("decode", id);
            const auto& token_bytes = vocabulary_->bytes[std::size_t(id)];
            if (!token_bytes)
                fail("decode: token ", id, " (\"", vocabulary_->tokens[std::size_t(id)], "\") of ", vocabulary_->source,
                     " is not made of byte symbols");
            bytes += *token_bytes;
        }
        std::string text = to_utf8(from_utf8_replacing(bytes));
        std::string out;
        out.reserve(text.size());
        for (std::size_t pos = 0; pos < text.size();) {
            if (text.compare(pos, 4, "</w>") == 0) {
                out += ' ';
                pos += 4;
            } else {
                out += text[pos++];
            }
        }
        return out;
    }

private:
    explicit Tokenizer(std::shared_ptr<const detail::Vocabulary> vocabulary)
        : vocabulary_(std::move(vocabulary)), cache_(std::make_shared<detail::BpeCache>()) {}

    static std::string merge_origin(std::size_t line, const std::string& file) {
        return "the merge on line " + std::to_string(line) + " of " + file;
    }

    static std::pair<std::string, std::string> parse_merge(std::vector<std::string> parts, std::string_view line,
                                                           std::size_t line_number, const std::string& file) {
        if (parts.size() != 2)
            fail(file, ": line ", line_number, " should be a merge, two symbols separated by a space, but is \"", line,
                 "\"");
        return {std::move(parts[0]), std::move(parts[1])};
    }

    static std::string abbreviate(std::string_view text) {
        constexpr std::size_t shown = 60;
        if (text.size() <= shown) return std::string(text);
        std::size_t cut = shown;
        while (cut > 0 && (std::uint8_t(text[cut]) & 0xC0) == 0x80) --cut; // not inside a UTF-8 sequence
        return std::string(text.substr(0, cut)) + "...";
    }

    void check_id(std::string_view operation, std::int64_t id) const {
        if (id < 0 || id >= vocab_size() || vocabulary_->tokens[std::size_t(id)].empty())
            fail(operation, ": ", id, " is not a token id of ", vocabulary_->source, " (ids 0..", vocab_size() - 1,
                 ")");
    }

    // The ids of one word (its UTF-8 bytes), through the cache.
    void bpe(const std::string& bytes, std::vector<std::int32_t>& word) const {
        {
            std::lock_guard lock(cache_->mutex);
            auto found = cache_->words.find(bytes);
            if (found != cache_->words.end()) {
                word = found->second;
                return;
            }
        }
        const detail::Vocabulary& vocabulary = *vocabulary_;
        word.clear();
        for (std::size_t i = 0; i + 1 < bytes.size(); ++i) word.push_back(vocabulary.byte_ids[std::uint8_t(bytes[i])]);
        word.push_back(vocabulary.byte_end_ids[std::uint8_t(bytes.back())]);
        while (word.size() > 1) {
            detail::Merge best;
            std::int32_t best_left = 0, best_right = 0;
            for (std::size_t i = 0; i + 1 < word.size(); ++i) {
                detail::Merge merge = vocabulary.merges.find(word[i], word[i + 1]);
                if (merge.rank >= 0 && (best.rank < 0 || merge.rank < best.rank)) {
                    best = merge;
                    best_left = word[i];
                    best_right = word[i + 1];
                }
            }
            if (best.rank < 0) break;
            std::size_t out = 0;
            for (std::size_t i = 0; i < word.size(); ++out) {
                bool pair = i + 1 < word.size() && word[i] == best_left && word[i + 1] == best_right;
                word[out] = pair ? best.merged : word[i];
                i += pair ? 2 : 1;
            }
            word.resize(out);
        }
        std::lock_guard lock(cache_->mutex);
        if (cache_->words.size() >= detail::BpeCache::max_entries) cache_->words.clear();
        cache_->words.emplace(bytes, word);
    }

    std::shared_ptr<const detail::Vocabulary> vocabulary_;
    std::shared_ptr<detail::BpeCache> cache_; // shared by copies; guarded by its mutex
};

// The vocabulary that goes with a checkpoint, as Tokenizer::load takes it: `model` itself when it
// is a folder, else the folder holding the checkpoint file; there CLIP's bpe_simple_vocab_16e6.txt.gz
// when the folder has it and no vocab.json, else the folder (vocab.json + merges.txt).
inline std::filesystem::path model_vocabulary(const std::filesystem::path& model) {
    std::error_code error;
    std::filesystem::path folder = std::filesystem::is_directory(model, error) ? model : model.parent_path();
    if (folder.empty()) folder = ".";
    std::filesystem::path bpe = folder / "bpe_simple_vocab_16e6.txt.gz";
    if (!std::filesystem::exists(folder / "vocab.json", error) && std::filesystem::exists(bpe, error)) return bpe;
    return folder;
}

} // namespace clipft::text
