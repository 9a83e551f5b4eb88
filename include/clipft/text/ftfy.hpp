#pragma once
// The text repair CLIP's reference tokenizer runs first: ftfy 6.3.1's fix_text() with its default
// configuration, re-implemented step by step so that tokens match the reference exactly.
//
// fix_text() splits the text after each '\n' and repeats, on each segment until nothing changes:
//   1. unescape_html: HTML5 named references ending in ';' (and the all-caps spelling of lower-case
//      names, "&EACUTE;" -> "É"), numeric references; skipped for a segment holding a '<' and for
//      every later segment (the text may be real HTML);
//   2. fix_encoding: mojibake. When the text looks like UTF-8 that was decoded in a single-byte
//      charset (the "badness" heuristic), it is encoded back in the first plausible charset of
//      latin-1, windows-1252/1251/1250/1253/1254/1257 (the "sloppy" variants that pass undefined
//      bytes through), iso-8859-2, macroman, cp437 and decoded as UTF-8 (also CESU-8 and Java's
//      0xC0 0x80), after restoring spaces that were 0xA0 bytes and marking bytes lost as '�';
//      otherwise mojibake runs are fixed in place, latin-1 read as windows-1252, C1 controls
//      mapped; repeated until stable;
//   3. fix_c1_controls (C1 controls as windows-1252), fix_latin_ligatures ("ﬁ" -> "fi"),
//      fix_character_width (fullwidth ASCII, halfwidth katakana, U+3000), uncurl_quotes,
//      fix_line_breaks (CRLF, CR, U+2028, U+2029, U+0085 -> LF), remove_terminal_escapes (ANSI
//      "ESC [ ... letter"), remove_control_chars (C0 controls other than \t \n \f \r, DEL, U+206A..F,
//      U+FEFF, U+FFF9..C);
//   4. NFC normalisation.
// (ftfy's fix_surrogates is left out: text decoded from UTF-8 never holds surrogates.)
#include <clipft/backends.hpp>
#include <clipft/text/html.hpp>
#include <clipft/text/unicode.hpp>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::text::ftfy {

// ---------------------------------------------------------------------------------------------------
// Charsets
// ---------------------------------------------------------------------------------------------------

namespace detail {

struct Charset {
    std::string_view name;
    bool sloppy;                        // undefined bytes pass through as Latin-1; byte 0x1A means U+FFFD
    std::array<char32_t, 256> decode{}; // byte -> code point
    std::unordered_map<char32_t, std::uint8_t> encode;
};

// ftfy tries the charsets in this order; the first seven are "Latin-1-like", the ones whose UTF-8
// mojibake the in-place fixer recognises.
inline const std::vector<Charset>& charsets() {
    static const std::vector<Charset> table = [] {
        struct Source {
            std::string_view name;
            const char* icu_name; // nullptr: Latin-1
            bool sloppy;
        };
        constexpr Source sources[] = {
            {"latin-1", nullptr, false},
            {"sloppy-windows-1252", "windows-1252", true},
            {"sloppy-windows-1251", "windows-1251", true},
            {"sloppy-windows-1250", "windows-1250", true},
            {"sloppy-windows-1253", "windows-1253", true},
            {"sloppy-windows-1254", "windows-1254", true},
            {"sloppy-windows-1257", "windows-1257", true},
            {"iso-8859-2", "iso-8859-2", false},
            {"macroman", "macintosh", false},
            {"cp437", "ibm-437", false},
        };
        std::vector<Charset> result;
        for (const Source& source : sources) {
            Charset charset{source.name, source.sloppy, {}, {}};
            std::array<std::int32_t, 256> icu{};
            if (source.icu_name) icu = single_byte_charset(source.icu_name);
            for (std::size_t byte = 0; byte < 256; ++byte) {
                // All of these are ASCII below 0x80 in Python (ICU's IBM 437 permutes some controls);
                // bytes ICU leaves undefined are Latin-1 in the sloppy charsets, which is what ICU
                // already gives for most of them.
                bool ascii_or_latin1 = byte < 0x80 || !source.icu_name || icu[byte] < 0;
                charset.decode[byte] = ascii_or_latin1 ? char32_t(byte) : char32_t(icu[byte]);
            }
            if (source.name == "cp437") charset.decode[0xE6] = U'\u00B5'; // Python's cp437: MICRO SIGN, not mu
            if (source.sloppy) charset.decode[0x1A] = U'\uFFFD';
            for (std::size_t byte = 0; byte < 256; ++byte)
                charset.encode.emplace(charset.decode[byte], std::uint8_t(byte));
            result.push_back(std::move(charset));
        }
        return result;
    }();
    return table;
}

inline const Charset& charset(std::string_view name) {
    for (const Charset& candidate : charsets())
        if (candidate.name == name) return candidate;
    fail("ftfy: unknown charset ", name);
}

// Whether the text could have been decoded from `charset`, and its bytes there.
inline std::optional<std::string> encode(std::u32string_view text, const Charset& charset) {
    std::string bytes;
    bytes.reserve(text.size());
    for (char32_t c : text) {
        auto found = charset.encode.find(c);
        if (found == charset.encode.end()) return std::nullopt;
        bytes += char(found->second);
    }
    return bytes;
}

inline std::u32string decode(std::string_view bytes, const Charset& charset) {
    std::u32string text;
    text.reserve(bytes.size());
    for (char byte : bytes) text += charset.decode[std::uint8_t(byte)];
    return text;
}

// UTF-8 as ftfy decodes it: strict, or with `variants` also CESU-8 surrogate pairs and Java's
// 0xC0 0x80 for U+0000. Nothing when the bytes are not that.
inline std::optional<std::u32string> decode_utf8(std::string_view bytes, bool variants) {
    auto byte = [&](std::size_t i) { return i < bytes.size() ? std::uint8_t(bytes[i]) : std::uint8_t(0); };
    std::u32string text;
    text.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        if (variants && byte(pos) == 0xC0 && byte(pos + 1) == 0x80) {
            text += U'\0';
            pos += 2;
            continue;
        }
        if (variants && pos + 6 <= bytes.size() && byte(pos) == 0xED && byte(pos + 1) >= 0xA0 &&
            byte(pos + 1) <= 0xAF && (byte(pos + 2) & 0xC0) == 0x80 && byte(pos + 3) == 0xED && byte(pos + 4) >= 0xB0 &&
            byte(pos + 4) <= 0xBF && (byte(pos + 5) & 0xC0) == 0x80) {
            text += char32_t(0x10000 + ((byte(pos + 1) & 0x0F) << 16) + ((byte(pos + 2) & 0x3F) << 10) +
                             ((byte(pos + 4) & 0x0F) << 6) + (byte(pos + 5) & 0x3F));
            pos += 6;
            continue;
        }
        Utf8Sequence sequence = decode_utf8_at(bytes, pos);
        if (!sequence.valid) return std::nullopt;
        text += sequence.code_point;
        pos += sequence.length;
    }
    return text;
}

// ---------------------------------------------------------------------------------------------------
// Byte patterns (ftfy's regular expressions over encoded bytes)
// ---------------------------------------------------------------------------------------------------

using ByteClass = std::bitset<256>;

inline ByteClass byte_class(std::initializer_list<std::pair<int, int>> ranges) {
    ByteClass set;
    for (auto [first, last] : ranges)
        for (int byte = first; byte <= last; ++byte) set.set(std::size_t(byte));
    return set;
}

// Alternatives tried in order; each is a sequence of byte classes.
using BytePattern = std::vector<std::vector<ByteClass>>;

// The length of the first alternative matching at bytes[pos], or 0.
inline std::size_t match_at(const BytePattern& pattern, std::string_view bytes, std::size_t pos) {
    for (const auto& alternative : pattern) {
        if (pos + alternative.size() > bytes.size()) continue;
        std::size_t i = 0;
        while (i < alternative.size() && alternative[i].test(std::uint8_t(bytes[pos + i]))) ++i;
        if (i == alternative.size()) return i;
    }
    return 0;
}

// UTF-8 sequences that would be valid if a space were the 0xA0 byte a Windows program turned into
// one (ftfy's ALTERED_UTF8_RE).
inline const BytePattern& altered_utf8() {
    static const BytePattern pattern = [] {
        ByteClass space = byte_class({{0x20, 0x20}}), continuation = byte_class({{0x80, 0xBF}});
        ByteClass likely = byte_class({{0x80, 0x84}, {0x86, 0x9F}, {0xA1, 0xBF}}), f0 = byte_class({{0xF0, 0xF0}});
        return BytePattern{
            {byte_class({{0xC2, 0xC3}, {0xC5, 0xC5}, {0xCE, 0xCE}, {0xD0, 0xD0}, {0xD9, 0xD9}}), space},
            {byte_class({{0xE2, 0xE3}}), space, likely},
            {byte_class({{0xE0, 0xE3}}), likely, space},
            {f0, space, continuation, continuation},
            {f0, continuation, space, continuation},
            {f0, continuation, continuation, space},
        };
    }();
    return pattern;
}

// UTF-8 sequences some of whose bytes were lost: 0x1A stands for a byte a sloppy charset decoded as
// '�', and '?' may stand for one byte of a sequence (ftfy's LOSSY_UTF8_RE).
inline const BytePattern& lossy_utf8() {
    static const BytePattern pattern = [] {
        ByteClass lost = byte_class({{0x1A, 0x1A}}), lost_or_question = byte_class({{0x1A, 0x1A}, {'?', '?'}});
        ByteClass continuation_or_lost = byte_class({{0x1A, 0x1A}, {0x80, 0xBF}});
        ByteClass any_of_them = byte_class({{0x1A, 0x1A}, {'?', '?'}, {0x80, 0xBF}});
        ByteClass ed = byte_class({{0xED, 0xED}}), high = byte_class({{0xA0, 0xAF}}), low = byte_class({{0xB0, 0xBF}});
        ByteClass lead3 = byte_class({{0xE0, 0xEF}}), lead4 = byte_class({{0xF0, 0xF4}});
        return BytePattern{
            {byte_class({{0xC2, 0xDF}}), lost},
            {byte_class({{0xC2, 0xC3}}), byte_class({{'?', '?'}})},
            {ed, high, lost_or_question, ed, low, any_of_them},
            {ed, high, any_of_them, ed, low, lost_or_question},
            {lead3, lost_or_question, continuation_or_lost},
            {lead3, continuation_or_lost, lost_or_question},
            {lead4, lost_or_question, continuation_or_lost, continuation_or_lost},
            {lead4, continuation_or_lost, lost_or_question, continuation_or_lost},
            {lead4, continuation_or_lost, continuation_or_lost, lost_or_question},
            {lost},
        };
    }();
    return pattern;
}

inline bool search(const BytePattern& pattern, std::string_view bytes) {
    for (std::size_t pos = 0; pos < bytes.size(); ++pos)
        if (match_at(pattern, bytes, pos)) return true;
    return false;
}

// ftfy's restore_byte_a0: first "Ã " standing for "à " (except before a space and in the Portuguese
// "às ", "àquele", "àquela", "àquilo"), then the spaces inside every altered UTF-8 sequence.
inline std::string restore_byte_a0(std::string_view bytes) {
    std::string grave;
    grave.reserve(bytes.size() + 8);
    for (std::size_t pos = 0; pos < bytes.size(); ++pos) {
        if (std::uint8_t(bytes[pos]) == 0xC3 && pos + 1 < bytes.size() && bytes[pos + 1] == ' ') {
            std::string_view rest = bytes.substr(pos + 2);
            bool kept = rest.starts_with(" ") || rest.starts_with("quele") || rest.starts_with("quela") ||
                        rest.starts_with("quilo") || rest.starts_with("s ");
            if (!kept) {
                grave += "\xC3\xA0 ";
                ++pos;
                continue;
            }
        }
        grave += bytes[pos];
    }
    std::string out;
    out.reserve(grave.size());
    for (std::size_t pos = 0; pos < grave.size();) {
        std::size_t length = match_at(altered_utf8(), grave, pos);
        if (length == 0) {
            out += grave[pos++];
            continue;
        }
        for (std::size_t i = 0; i < length; ++i, ++pos) out += grave[pos] == ' ' ? '\xA0' : grave[pos];
    }
    return out;
}

// ftfy's replace_lossy_sequences: each lossy sequence becomes the UTF-8 of U+FFFD.
inline std::string replace_lossy_sequences(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        std::size_t length = match_at(lossy_utf8(), bytes, pos);
        if (length == 0) {
            out += bytes[pos++];
        } else {
            out += "\xEF\xBF\xBD";
            pos += length;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------
// The badness heuristic (ftfy's BADNESS_RE): character sequences far more likely in mojibake than
// in real text, built on categories of the ~400 characters that UTF-8 mojibake consists of.
// ---------------------------------------------------------------------------------------------------

enum Category : std::uint16_t {
    common = 1 << 0, // appear in many contexts
    c1 = 1 << 1,     // C1 controls
    bad = 1 << 2,    // nearly only ever in mojibake
    law = 1 << 3,    // ¶ §
    currency = 1 << 4,
    start_punctuation = 1 << 5,
    end_punctuation = 1 << 6,
    numeric = 1 << 7,
    kaomoji = 1 << 8, // letters that emoticons use, so allowed in odd company
    upper_accented = 1 << 9,
    lower_accented = 1 << 10,
    upper_common = 1 << 11, // capital thorn, Greek and Cyrillic capitals
    lower_common = 1 << 12, // Greek and Cyrillic small letters
    box = 1 << 13,          // box drawing and blocks
};

struct CategoryRange {
    char32_t first, last;
    std::uint16_t categories;
};

inline constexpr CategoryRange category_ranges[] = {
    // common: NBSP, soft hyphen, middle dot, acute accent, en/em dash, horizontal bar, ellipsis, ’
    {0xA0, 0xA0, common},
    {0xAD, 0xAD, common},
    {0xB7, 0xB7, common},
    {0xB4, 0xB4, common},
    {0x2013, 0x2015, common},
    {0x2026, 0x2026, common},
    {0x2019, 0x2019, common},
    {0x80, 0x9F, c1},
    // bad: ¦ ¤ ¨ ¬ ¯ ¸ ƒ ˆ ˇ ˘ ˛ ˜ † ‡ ‰ ⌐ ◊ � ª º
    {0xA6, 0xA6, bad},
    {0xA4, 0xA4, bad},
    {0xA8, 0xA8, bad},
    {0xAC, 0xAC, bad},
    {0xAF, 0xAF, bad},
    {0xB8, 0xB8, bad},
    {0x192, 0x192, bad},
    {0x2C6, 0x2C7, bad},
    {0x2D8, 0x2D8, bad},
    {0x2DB, 0x2DC, bad},
    {0x2020, 0x2021, bad},
    {0x2030, 0x2030, bad},
    {0x2310, 0x2310, bad},
    {0x25CA, 0x25CA, bad},
    {0xFFFD, 0xFFFD, bad},
    {0xAA, 0xAA, bad},
    {0xBA, 0xBA, bad},
    {0xB6, 0xB6, law},
    {0xA7, 0xA7, law},
    // currency: ¢ £ ¥ ₧ €
    {0xA2, 0xA3, currency},
    {0xA5, 0xA5, currency},
    {0x20A7, 0x20A7, currency},
    {0x20AC, 0x20AC, currency},
    // start punctuation: ¡ « ¿ © ΄ ΅ ‘ ‚ “ „ • ‹ and U+F8FF (the Apple logo)
    {0xA1, 0xA1, start_punctuation},
    {0xAB, 0xAB, start_punctuation},
    {0xBF, 0xBF, start_punctuation},
    {0xA9, 0xA9, start_punctuation},
    {0x384, 0x385, start_punctuation},
    {0x2018, 0x2018, start_punctuation},
    {0x201A, 0x201A, start_punctuation},
    {0x201C, 0x201C, start_punctuation},
    {0x201E, 0x201E, start_punctuation},
    {0x2022, 0x2022, start_punctuation},
    {0x2039, 0x2039, start_punctuation},
    {0xF8FF, 0xF8FF, start_punctuation},
    // end punctuation: ® » ˝ ” › ™
    {0xAE, 0xAE, end_punctuation},
    {0xBB, 0xBB, end_punctuation},
    {0x2DD, 0x2DD, end_punctuation},
    {0x201D, 0x201D, end_punctuation},
    {0x203A, 0x203A, end_punctuation},
    {0x2122, 0x2122, end_punctuation},
    // numeric: ² ³ ¹ ± ¼ ½ ¾ × µ ÷ ⁄ ∂ ∆ ∏ ∑ √ ∞ ∩ ∫ ≈ ≠ ≡ ≤ ≥ №
    {0xB2, 0xB3, numeric},
    {0xB9, 0xB9, numeric},
    {0xB1, 0xB1, numeric},
    {0xBC, 0xBE, numeric},
    {0xD7, 0xD7, numeric},
    {0xB5, 0xB5, numeric},
    {0xF7, 0xF7, numeric},
    {0x2044, 0x2044, numeric},
    {0x2202, 0x2202, numeric},
    {0x2206, 0x2206, numeric},
    {0x220F, 0x220F, numeric},
    {0x2211, 0x2211, numeric},
    {0x221A, 0x221A, numeric},
    {0x221E, 0x221E, numeric},
    {0x2229, 0x2229, numeric},
    {0x222B, 0x222B, numeric},
    {0x2248, 0x2248, numeric},
    {0x2260, 0x2261, numeric},
    {0x2264, 0x2265, numeric},
    {0x2116, 0x2116, numeric},
    // kaomoji: Ò-Ö Ù-Ü ò-ö ø-ü Ő Ō Ū Ų °
    {0xD2, 0xD6, kaomoji},
    {0xD9, 0xDC, kaomoji},
    {0xF2, 0xF6, kaomoji},
    {0xF8, 0xFC, kaomoji},
    {0x150, 0x150, kaomoji},
    {0x14C, 0x14C, kaomoji},
    {0x16A, 0x16A, kaomoji},
    {0x172, 0x172, kaomoji},
    {0xB0, 0xB0, kaomoji},
    // upper accented: À-Ñ Ø Ü Ý Ă Ā Ą Ć Č Ď Đ Ę Ě Ē Ė Ğ Ģ İ Ī Ķ Ĺ Ľ Ł Ļ Ń Ň Ņ Œ Ř Ś Ş Š Ţ Ť Ů Ű Ÿ Ź Ż Ž Ґ
    {0xC0, 0xD1, upper_accented},
    {0xD8, 0xD8, upper_accented},
    {0xDC, 0xDD, upper_accented},
    {0x100, 0x100, upper_accented},
    {0x102, 0x102, upper_accented},
    {0x104, 0x104, upper_accented},
    {0x106, 0x106, upper_accented},
    {0x10C, 0x10C, upper_accented},
    {0x10E, 0x10E, upper_accented},
    {0x110, 0x110, upper_accented},
    {0x112, 0x112, upper_accented},
    {0x116, 0x116, upper_accented},
    {0x118, 0x118, upper_accented},
    {0x11A, 0x11A, upper_accented},
    {0x11E, 0x11E, upper_accented},
    {0x122, 0x122, upper_accented},
    {0x12A, 0x12A, upper_accented},
    {0x130, 0x130, upper_accented},
    {0x136, 0x136, upper_accented},
    {0x139, 0x139, upper_accented},
    {0x13B, 0x13B, upper_accented},
    {0x13D, 0x13D, upper_accented},
    {0x141, 0x141, upper_accented},
    {0x143, 0x143, upper_accented},
    {0x145, 0x145, upper_accented},
    {0x147, 0x147, upper_accented},
    {0x152, 0x152, upper_accented},
    {0x158, 0x158, upper_accented},
    {0x15A, 0x15A, upper_accented},
    {0x15E, 0x15E, upper_accented},
    {0x160, 0x160, upper_accented},
    {0x162, 0x162, upper_accented},
    {0x164, 0x164, upper_accented},
    {0x16E, 0x16E, upper_accented},
    {0x170, 0x170, upper_accented},
    {0x178, 0x179, upper_accented},
    {0x17B, 0x17B, upper_accented},
    {0x17D, 0x17D, upper_accented},
    {0x490, 0x490, upper_accented},
    // lower accented: ß à-ñ ă ą ā ć č ď đ ę ě ē ė ğ ģ į ī ķ ĺ ľ ł ļ œ ŕ ś ş š ť ü ź ż ž ґ ﬁ ﬂ
    {0xDF, 0xDF, lower_accented},
    {0xE0, 0xF1, lower_accented},
    {0xFC, 0xFC, lower_accented},
    {0x101, 0x101, lower_accented},
    {0x103, 0x103, lower_accented},
    {0x105, 0x105, lower_accented},
    {0x107, 0x107, lower_accented},
    {0x10D, 0x10D, lower_accented},
    {0x10F, 0x10F, lower_accented},
    {0x111, 0x111, lower_accented},
    {0x113, 0x113, lower_accented},
    {0x117, 0x117, lower_accented},
    {0x119, 0x119, lower_accented},
    {0x11B, 0x11B, lower_accented},
    {0x11F, 0x11F, lower_accented},
    {0x123, 0x123, lower_accented},
    {0x12B, 0x12B, lower_accented},
    {0x12F, 0x12F, lower_accented},
    {0x137, 0x137, lower_accented},
    {0x13A, 0x13A, lower_accented},
    {0x13C, 0x13C, lower_accented},
    {0x13E, 0x13E, lower_accented},
    {0x142, 0x142, lower_accented},
    {0x153, 0x153, lower_accented},
    {0x155, 0x155, lower_accented},
    {0x15B, 0x15B, lower_accented},
    {0x15F, 0x15F, lower_accented},
    {0x161, 0x161, lower_accented},
    {0x165, 0x165, lower_accented},
    {0x17A, 0x17A, lower_accented},
    {0x17C, 0x17C, lower_accented},
    {0x17E, 0x17E, lower_accented},
    {0x491, 0x491, lower_accented},
    {0xFB01, 0xFB02, lower_accented},
    // upper common: Þ, Greek capitals (with tonos, with dialytika), Cyrillic Ё-Я
    {0xDE, 0xDE, upper_common},
    {0x391, 0x3A9, upper_common},
    {0x386, 0x386, upper_common},
    {0x388, 0x38A, upper_common},
    {0x38C, 0x38C, upper_common},
    {0x38E, 0x38F, upper_common},
    {0x3AA, 0x3AB, upper_common},
    {0x401, 0x42F, upper_common},
    // lower common: Greek α-ω ά έ ή ί ΰ, Cyrillic а-џ
    {0x3B1, 0x3C9, lower_common},
    {0x3AC, 0x3B0, lower_common},
    {0x430, 0x45F, lower_common},
    // box: │ ┌ ┐ ┘ ├ ┤ ┬ ┼ ═-╬ ▀ ▄ █ ▌ ▐ ░ ▒ ▓ (not the plain horizontal line: kaomoji use it)
    {0x2502, 0x2502, box},
    {0x250C, 0x250C, box},
    {0x2510, 0x2510, box},
    {0x2518, 0x2518, box},
    {0x251C, 0x251C, box},
    {0x2524, 0x2524, box},
    {0x252C, 0x252C, box},
    {0x253C, 0x253C, box},
    {0x2550, 0x256C, box},
    {0x2580, 0x2580, box},
    {0x2584, 0x2584, box},
    {0x2588, 0x2588, box},
    {0x258C, 0x258C, box},
    {0x2590, 0x2593, box},
};

inline std::uint16_t categories_of(char32_t c) {
    // A dense table below U+2600, where all but four of these characters lie.
    constexpr char32_t dense_limit = 0x2600;
    static const std::vector<std::uint16_t> dense = [] {
        std::vector<std::uint16_t> table(dense_limit, 0);
        for (const CategoryRange& range : category_ranges)
            for (char32_t code = range.first; code <= range.last && code < dense_limit; ++code)
                table[code] |= range.categories;
        return table;
    }();
    if (c < dense_limit) return dense[c];
    std::uint16_t result = 0;
    for (const CategoryRange& range : category_ranges)
        if (c >= range.first && c <= range.last) result |= range.categories;
    return result;
}

// One position of a badness pattern: matches a character in any of `categories`, among `literals`,
// or of the `special` class.
enum class Special : std::uint8_t { none, ascii_letter, ascii_lower, space, word, not_ascii_letter, not_newline };

struct Element {
    std::uint16_t categories = 0;
    std::u32string_view literals = {};
    Special special = Special::none;
};

inline bool element_matches(const Element& element, char32_t c, std::uint16_t categories) {
    if (categories & element.categories) return true;
    if (element.literals.find(c) != std::u32string_view::npos) return true;
    bool ascii_letter = c < 0x80 && (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    switch (element.special) {
    case Special::none:
        return false;
    case Special::ascii_letter:
        return ascii_letter;
    case Special::ascii_lower:
        return c >= 'a' && c <= 'z';
    case Special::space:
        return is_python_space(c);
    case Special::word:
        return is_python_word(c);
    case Special::not_ascii_letter:
        return !ascii_letter;
    case Special::not_newline:
        return c != U'\n';
    }
    return false;
}

struct Pattern {
    std::array<Element, 7> elements;
    std::size_t size;
    bool at_start = false; // anchored with ^
};

// The alternatives of ftfy's BADNESS_RE, in its order.
inline const std::vector<Pattern>& badness_patterns() {
    static const std::vector<Pattern> patterns = [] {
        using E = Element;
        constexpr std::uint16_t accented = lower_accented | upper_accented;
        constexpr std::uint16_t punctuation = start_punctuation | end_punctuation;
        constexpr std::uint16_t symbols =
            box | punctuation | currency | numeric | law; // what may precede or follow 'bad'
        auto pattern = [](std::initializer_list<Element> elements, bool at_start = false) {
            Pattern result{{}, elements.size(), at_start};
            std::size_t i = 0;
            for (const Element& element : elements) result.elements[i++] = element;
            return result;
        };
        const E ascii_letter{0, {}, Special::ascii_letter}, ascii_lower{0, {}, Special::ascii_lower};
        const E space_literal{0, U" "}, c_or_a_hat{0, U"ÃÂ"}, cyrillic_vgrs{0, U"ВГРС"}, greek_bgxo{0, U"ΒΓΞΟ"};
        const E arabic_mojibake{common | currency | bad | numeric | start_punctuation, U"ŸŠ®°µ»"};
        return std::vector<Pattern>{
            pattern({E{c1}}),
            pattern({E{bad | accented | symbols}, E{bad}}),
            pattern({ascii_letter, E{lower_common | upper_common}, E{bad}}),
            pattern({E{bad}, E{accented | symbols}}),
            pattern({E{lower_accented | lower_common | box | end_punctuation | currency | numeric}, E{upper_accented}}),
            pattern({E{box | end_punctuation | currency | numeric}, E{lower_accented}}),
            pattern({E{lower_accented | box | end_punctuation}, E{currency}}),
            pattern({E{0, {}, Special::space}, E{upper_accented}, E{currency}}),
            pattern({E{upper_accented | box}, E{numeric | law}}),
            pattern({E{accented | box | currency | end_punctuation}, E{start_punctuation}, E{numeric}}),
            pattern({E{accented | currency | numeric | box | law}, E{end_punctuation}, E{start_punctuation}}),
            pattern({E{currency | numeric | box}, E{start_punctuation}}),
            pattern({ascii_lower, E{upper_accented}, E{start_punctuation | currency}}),
            pattern({E{box}, E{kaomoji}}),
            pattern({E{accented | currency | numeric | punctuation | law}, E{box}}),
            pattern({E{box}, E{end_punctuation}}),
            pattern({E{accented}, E{punctuation}, E{0, {}, Special::word}}),
            // the ligature œ when not followed by an unaccented Latin letter
            pattern({E{0, U"Œœ"}, E{0, {}, Special::not_ascii_letter}}),
            // degree signs after capital letters
            pattern({E{upper_accented}, E{0, U"°"}}),
            // common windows-1252 two-character mojibake not covered above
            pattern({E{0, U"ÂÃÎÐ"}, E{punctuation, U"€œŠš¢£Ÿž\u00A0\u00AD®©°·»–—´"}}),
            pattern({E{0, U"×"}, E{0, U"²³"}}),
            // windows-1252 mojibake of Arabic words, which needs the 'common' characters: four of them
            pattern({E{0, U"ØÙ"}, arabic_mojibake, E{0, U"ØÙ"}, arabic_mojibake}),
            // windows-1252 mojibake starting three-character sequences of South Asian scripts
            pattern({E{0, U"à"}, E{0, U"²µ¹¼½¾"}}),
            // macroman mojibake not covered above
            pattern({E{0, U"√"}, E{0, U"±∂†≠®™´≤≥¥µø"}}),
            pattern({E{0, U"≈"}, E{0, U"°¢"}}),
            pattern({E{0, U"‚"}, E{0, U"Ä"}, E{0, U"ìîïòôúùû†°¢π"}}),
            pattern({E{0, U"‚"}, E{0, U"âó"}, E{0, U"àä°ê"}}),
            // windows-1251 mojibake of characters in the U+2000 range
            pattern({E{0, U"в"}, E{0, U"Ђ"}}),
            // windows-1251 mojibake of Latin-1 characters or Cyrillic: three characters
            pattern({cyrillic_vgrs, E{c1 | bad | punctuation | currency, U"°µ"}, cyrillic_vgrs}),
            // windows-1251 over Latin-1 mojibake of windows-1252 characters, near a Latin letter
            pattern({E{0, U"Г"}, E{0, U"ў"}, E{0, U"В"}, E{0, U"Ђ"}, E{0, U"В"}, E{0, {}, Special::not_newline},
                     E{0, U" ", Special::ascii_letter}}),
            // windows-1252 encodings of 'à' and 'á', and of U+00A0 itself
            pattern({E{0, U"Ã"}, E{0, U"\u00A0¡"}}),
            pattern({ascii_lower, c_or_a_hat, space_literal}),
            pattern({ascii_lower, E{0, {}, Special::space}, c_or_a_hat, space_literal}),
            pattern({c_or_a_hat, space_literal}, true),
            // Â standing before the very character it encodes
            pattern({E{end_punctuation, U".,?!", Special::ascii_lower}, E{0, U"Â"}, E{punctuation, U" "}}),
            // windows-1253 mojibake of characters in the U+2000 range
            pattern({E{0, U"β"}, E{0, U"€"}, E{0, U"™\u00A0Ά\u00AD®°"}}),
            // windows-1253 mojibake of Latin-1 characters or Greek
            pattern({greek_bgxo, E{c1 | bad | punctuation | currency, U"°"}, greek_bgxo}),
            // windows-1257 mojibake of characters in the U+2000 range
            pattern({E{0, U"ā"}, E{0, U"€"}}),
        };
    }();
    return patterns;
}

} // namespace detail

// Whether the text looks like it holds mojibake (ftfy's is_bad).
inline bool is_bad(std::u32string_view text) {
    std::vector<std::uint16_t> categories(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) categories[i] = detail::categories_of(text[i]);
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
        for (const detail::Pattern& pattern : detail::badness_patterns()) {
            if ((pattern.at_start && pos != 0) || pos + pattern.size > text.size()) continue;
            std::size_t i = 0;
            while (i < pattern.size && detail::element_matches(pattern.elements[i], text[pos + i], categories[pos + i]))
                ++i;
            if (i == pattern.size) return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------
// The fixers
// ---------------------------------------------------------------------------------------------------

namespace detail {

// The HTML references ftfy decodes: the HTML5 names that end in ';', plus the all-caps spelling of
// each lower-case name when that spelling means nothing else to html.unescape() (its value then
// upper-cased: "&SZLIG;" is "SS").
inline const std::unordered_map<std::string, std::u32string>& entities() {
    static const std::unordered_map<std::string, std::u32string> table = [] {
        std::unordered_map<std::string, std::u32string> result;
        for (const text::detail::HtmlEntity& entity : text::detail::html5_entities) {
            if (!entity.name.ends_with(';')) continue;
            std::u32string value = from_utf8(entity.value, "html entity table");
            // Appended, not "&" + std::string&&: GCC 12 reports a false -Wrestrict for that.
            std::string name = "&";
            name += entity.name;
            result.emplace(name, value);
            bool lower_case =
                std::none_of(entity.name.begin(), entity.name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
            if (!lower_case) continue;
            std::string upper = name;
            for (char& c : upper)
                if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
            std::u32string upper_text(upper.begin(), upper.end());
            if (html_unescape(upper_text) == upper_text) result.emplace(upper, to_upper(value));
        }
        return result;
    }();
    return table;
}

inline bool is_ascii_alphanumeric(char32_t c) {
    return (c >= '0' && c <= '9') || (c < 0x80 && (c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// Replaces each character for which `replacement(c, out)` appends something (and returns true).
template <typename Replacement> void translate(std::u32string& text, Replacement&& replacement) {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text)
        if (!replacement(c, out)) out += c;
    text = std::move(out);
}

} // namespace detail

// HTML references "&#?[0-9A-Za-z]{1,24};": the names of detail::entities(), and numeric references
// as html.unescape() reads them when that consumes the whole reference.
inline void unescape_html(std::u32string& text) {
    if (text.find(U'&') == std::u32string::npos) return;
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = pos + 1;
        if (text[pos] == U'&') {
            std::size_t run = end + (end < text.size() && text[end] == U'#');
            std::size_t run_end = run;
            while (run_end < text.size() && detail::is_ascii_alphanumeric(text[run_end])) ++run_end;
            if (run_end > run && run_end - run <= 24 && run_end < text.size() && text[run_end] == U';')
                end = run_end + 1;
        }
        if (end == pos + 1) {
            out += text[pos++];
            continue;
        }
        std::u32string_view reference = std::u32string_view(text).substr(pos, end - pos);
        if (auto found = detail::entities().find(std::string(reference.begin(), reference.end()));
            found != detail::entities().end()) {
            out += found->second;
        } else if (reference[1] == U'#') {
            std::u32string decoded = html_unescape(reference);
            out += decoded.find(U';') == std::u32string::npos ? std::u32string_view(decoded) : reference;
        } else {
            out += reference;
        }
        pos = end;
    }
    text = std::move(out);
}

// ANSI terminal escapes "ESC [ (digits or ;)* letter".
inline void remove_terminal_escapes(std::u32string& text) {
    if (text.find(U'\x1B') == std::u32string::npos) return;
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        if (text[pos] == U'\x1B' && pos + 1 < text.size() && text[pos + 1] == U'[') {
            std::size_t end = pos + 2;
            while (end < text.size() && (is_decimal_digit(text[end]) || text[end] == U';')) ++end;
            if (end < text.size() && text[end] < 0x80 && (text[end] | 0x20) >= 'a' && (text[end] | 0x20) <= 'z') {
                pos = end + 1;
                continue;
            }
        }
        out += text[pos++];
    }
    text = std::move(out);
}

inline bool has_c1_controls(std::u32string_view text) {
    for (char32_t c : text)
        if (c >= 0x80 && c <= 0x9F) return true;
    return false;
}

// C1 controls as the windows-1252 characters they stand for (the five bytes windows-1252 leaves
// undefined stay).
inline void fix_c1_controls(std::u32string& text) {
    if (!has_c1_controls(text)) return;
    const detail::Charset& windows_1252 = detail::charset("sloppy-windows-1252");
    for (char32_t& c : text)
        if (c >= 0x80 && c <= 0x9F) c = windows_1252.decode[c];
}

// Latin ligatures and digraphs as their letters (not æ, œ and the like, which are letters in
// their own right).
inline void fix_latin_ligatures(std::u32string& text) {
    static constexpr std::pair<char32_t, std::u32string_view> ligatures[] = {
        {U'Ĳ', U"IJ"},  {U'ĳ', U"ij"},  {U'ŉ', U"ʼn"}, {U'Ǳ', U"DZ"}, {U'ǲ', U"Dz"}, {U'ǳ', U"dz"},
        {U'Ǆ', U"DŽ"},  {U'ǅ', U"Dž"},  {U'ǆ', U"dž"}, {U'Ǉ', U"LJ"}, {U'ǈ', U"Lj"}, {U'ǉ', U"lj"},
        {U'Ǌ', U"NJ"},  {U'ǋ', U"Nj"},  {U'ǌ', U"nj"}, {U'ﬀ', U"ff"}, {U'ﬁ', U"fi"}, {U'ﬂ', U"fl"},
        {U'ﬃ', U"ffi"}, {U'ﬄ', U"ffl"}, {U'ﬅ', U"ſt"}, {U'ﬆ', U"st"}};
    auto ligature = [](char32_t c) { return (c >= U'Ĳ' && c <= U'ǌ') || (c >= U'ﬀ' && c <= U'ﬆ'); };
    if (std::none_of(text.begin(), text.end(), ligature)) return;
    detail::translate(text, [](char32_t c, std::u32string& out) {
        for (const auto& [from, to] : ligatures)
            if (c == from) {
                out += to;
                return true;
            }
        return false;
    });
}

// Fullwidth and halfwidth forms (U+FF01..U+FFEF) as their NFKC equivalents, U+3000 as a space.
inline void fix_character_width(std::u32string& text) {
    auto wide = [](char32_t c) { return c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF); };
    if (std::none_of(text.begin(), text.end(), wide)) return;
    detail::translate(text, [&](char32_t c, std::u32string& out) {
        if (!wide(c)) return false;
        out += c == 0x3000 ? std::u32string(U" ") : nfkc(std::u32string(1, c));
        return true;
    });
}

inline void uncurl_quotes(std::u32string& text) {
    for (char32_t& c : text) {
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
            c = U'\'';
        else if (c >= 0x201C && c <= 0x201F)
            c = U'"';
    }
}

// CRLF, CR, LINE SEPARATOR, PARAGRAPH SEPARATOR and NEXT LINE as "\n".
inline void fix_line_breaks(std::u32string& text) {
    auto line_break = [](char32_t c) { return c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85; };
    if (std::none_of(text.begin(), text.end(), line_break)) return;
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
        if (!line_break(text[pos])) {
            out += text[pos];
            continue;
        }
        out += U'\n';
        if (text[pos] == U'\r' && pos + 1 < text.size() && text[pos + 1] == U'\n') ++pos;
    }
    text = std::move(out);
}

// Control characters with no visible effect: C0 controls but \t \n \f \r, DEL, the deprecated
// Arabic format controls U+206A..U+206F, the byte-order mark, interlinear annotation characters and
// the object replacement character U+FFF9..U+FFFC.
inline void remove_control_chars(std::u32string& text) {
    auto removed = [](char32_t c) {
        return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
               c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
    };
    std::erase_if(text, removed);
}

// ---------------------------------------------------------------------------------------------------
// Mojibake
// ---------------------------------------------------------------------------------------------------

inline std::u32string fix_encoding(std::u32string_view text);

namespace detail {

// Characters of UTF-8 mojibake in the Latin-1-like charsets (ftfy's UTF8_CLUES): what the lead
// bytes of 2-, 3- and 4-byte sequences (0xC2..0xDF, 0xE0..0xEF, 0xF0 and 0xF3) and continuation
// bytes (0x80..0xBF, and a space for 0xA0) decode to; the strict continuations leave out spaces,
// dashes, quotes, bullets and ellipses, which stand for themselves next to mojibake.
struct Utf8Clues {
    std::vector<char32_t> first_of_2, first_of_3, first_of_4, continuation, continuation_strict;
};

inline const Utf8Clues& utf8_clues() {
    static const Utf8Clues clues = [] {
        Utf8Clues result;
        auto add = [](std::vector<char32_t>& set, char32_t c) {
            if (std::find(set.begin(), set.end(), c) == set.end()) set.push_back(c);
        };
        for (std::size_t i = 0; i < 7; ++i) {
            const Charset& charset = charsets()[i];
            for (std::size_t byte = 0xC2; byte <= 0xDF; ++byte) add(result.first_of_2, charset.decode[byte]);
            for (std::size_t byte = 0xE0; byte <= 0xEF; ++byte) add(result.first_of_3, charset.decode[byte]);
            for (std::size_t byte : {0xF0, 0xF3}) add(result.first_of_4, charset.decode[byte]);
            for (std::size_t byte = 0x80; byte <= 0xBF; ++byte) add(result.continuation, charset.decode[byte]);
        }
        add(result.continuation, U' ');
        constexpr std::u32string_view standalone = U" –—―‘’‚“”„•…";
        for (char32_t c : result.continuation)
            if (standalone.find(c) == std::u32string_view::npos) result.continuation_strict.push_back(c);
        for (auto* set : {&result.first_of_2, &result.first_of_3, &result.first_of_4, &result.continuation,
                          &result.continuation_strict})
            std::sort(set->begin(), set->end());
        return result;
    }();
    return clues;
}

inline bool contains(const std::vector<char32_t>& sorted, char32_t c) {
    return std::binary_search(sorted.begin(), sorted.end(), c);
}

// The end of the run of mojibake sequences starting at text[pos] (ftfy's UTF8_DETECTOR_RE), or
// `pos` when none starts there.
inline std::size_t utf8_mojibake_end(std::u32string_view text, std::size_t pos) {
    const Utf8Clues& clues = utf8_clues();
    if (pos > 0 && contains(clues.continuation_strict, text[pos - 1])) return pos;
    auto continued = [&](std::size_t at, std::size_t count) {
        if (at + count > text.size()) return false;
        for (std::size_t i = 0; i < count; ++i)
            if (!contains(clues.continuation, text[at + i])) return false;
        return true;
    };
    std::size_t end = pos;
    while (end < text.size()) {
        char32_t c = text[end];
        if (contains(clues.first_of_2, c) && continued(end + 1, 1))
            end += 2;
        else if (contains(clues.first_of_3, c) && continued(end + 1, 2))
            end += 3;
        else if (contains(clues.first_of_4, c) && continued(end + 1, 3))
            end += 4;
        else
            break;
    }
    return end;
}

// Fixes runs of UTF-8 mojibake in place, for text mixing encodings (ftfy's decode_inconsistent_utf8).
inline std::u32string decode_inconsistent_utf8(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = utf8_mojibake_end(text, pos);
        if (end == pos) {
            out += text[pos++];
            continue;
        }
        std::u32string_view run = text.substr(pos, end - pos);
        out += run.size() < text.size() && is_bad(run) ? fix_encoding(run) : std::u32string(run);
        pos = end;
    }
    return out;
}

// One step of ftfy's fix_encoding.
inline std::u32string fix_encoding_step(std::u32string_view text) {
    if (is_ascii(text) || !is_bad(text)) return std::u32string(text);
    bool latin_1_possible = false;
    for (const Charset& charset : charsets()) {
        std::optional<std::string> bytes = encode(text, charset);
        if (!bytes) continue;
        if (charset.name == "latin-1") latin_1_possible = true;
        // macroman is left out: there an en dash before a space would look like an altered sequence.
        if (charset.name != "macroman" && search(altered_utf8(), *bytes)) *bytes = restore_byte_a0(*bytes);
        if (charset.sloppy) *bytes = replace_lossy_sequences(*bytes);
        bool variants = bytes->find('\xED') != std::string::npos || bytes->find('\xC0') != std::string::npos;
        if (std::optional<std::u32string> fixed = decode_utf8(*bytes, variants)) return *fixed;
    }
    bool has_mojibake = false;
    for (std::size_t pos = 0; pos < text.size() && !has_mojibake; ++pos)
        has_mojibake = utf8_mojibake_end(text, pos) > pos;
    if (has_mojibake) {
        std::u32string fixed = decode_inconsistent_utf8(text);
        if (fixed != text) return fixed;
    }
    // Latin-1 that was meant as windows-1252 (ftfy never finds the strict "windows-1252" among the
    // possible charsets it lists, so this is always tried); it fails on the five bytes
    // windows-1252 leaves undefined.
    if (latin_1_possible) {
        const Charset& windows_1252 = charset("sloppy-windows-1252");
        std::u32string fixed(text);
        bool defined = true;
        for (char32_t& c : fixed) {
            if (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D)
                defined = false;
            else if (c >= 0x80 && c <= 0x9F)
                c = windows_1252.decode[c];
        }
        if (defined && fixed != text) return fixed;
    }
    std::u32string fixed(text);
    fix_c1_controls(fixed);
    return fixed;
}

} // namespace detail

// ftfy's fix_encoding: mojibake repaired until nothing changes.
inline std::u32string fix_encoding(std::u32string_view text) {
    std::u32string current(text);
    while (true) {
        std::u32string next = detail::fix_encoding_step(current);
        if (next == current) return current;
        current = std::move(next);
    }
}

// ftfy's fix_text with the default configuration (see the top of this header).
inline std::u32string fix_text(std::u32string_view text) {
    constexpr std::size_t max_segment = 1000000; // ftfy's max_decode_length
    std::u32string out;
    out.reserve(text.size());
    bool unescape = true;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = text.find(U'\n', pos);
        end = end == std::u32string_view::npos ? text.size() : end + 1;
        end = std::min(end, pos + max_segment);
        std::u32string segment(text.substr(pos, end - pos));
        unescape = unescape && segment.find(U'<') == std::u32string::npos;
        // In ASCII text only references, CR and control characters can change (the common case).
        bool unchanged = std::all_of(segment.begin(), segment.end(), [&](char32_t c) {
            return c < 0x7F && (c >= 0x20 ? c != U'&' || !unescape : c == U'\t' || c == U'\n' || c == U'\f');
        });
        while (!unchanged) {
            std::u32string original = segment;
            if (unescape) unescape_html(segment);
            if (!is_ascii(segment)) segment = fix_encoding(segment);
            fix_c1_controls(segment);
            fix_latin_ligatures(segment);
            fix_character_width(segment);
            uncurl_quotes(segment);
            fix_line_breaks(segment);
            remove_terminal_escapes(segment);
            remove_control_chars(segment);
            segment = nfc(segment);
            if (segment == original) break;
        }
        out += segment;
        pos = end;
    }
    return out;
}

} // namespace clipft::text::ftfy
