#pragma once
// HTML character references as Python's html.unescape() decodes them (CLIP's tokenizer applies it
// twice to every text): numeric references &#65; and &#x41; (with or without the semicolon; the
// HTML5 replacements for 0, CR, 0x80..0x9F, surrogates and values past U+10FFFF; non-characters and
// most controls removed), and all 2231 HTML5 named references, the legacy names also without a
// semicolon and as the longest known prefix of a longer name ("&notit;" is "¬it;").
#include <clipft/backends.hpp>
#include <clipft/text/html_entities.hpp>
#include <clipft/text/unicode.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace clipft::inline CLIPFT_BACKENDS::text {

// The UTF-8 value of the HTML5 named reference `name` (without the '&'; "amp;" or the legacy
// "amp"), or nothing when HTML5 has no such name.
inline std::optional<std::string_view> html5_entity(std::string_view name) {
    const auto& table = detail::html5_entities;
    auto found =
        std::lower_bound(std::begin(table), std::end(table), name,
                         [](const detail::HtmlEntity& entity, std::string_view key) { return entity.name < key; });
    if (found == std::end(table) || found->name != name) return std::nullopt;
    return found->value;
}

// The text of the numeric reference to `number`, as html.unescape() gives it (possibly empty).
inline std::u32string html_numeric_reference(std::uint64_t number) {
    // HTML5 reads these as their windows-1252 characters; the five bytes windows-1252 leaves
    // undefined stay C1 controls.
    static constexpr char16_t windows_1252_c1[32] = {0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                                     0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
                                                     0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                                     0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
    if (number == 0) return U"\uFFFD";
    if (number == 0x0D) return U"\r";
    if (number >= 0x80 && number <= 0x9F) return std::u32string(1, windows_1252_c1[number - 0x80]);
    if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return U"\uFFFD";
    bool control = (number >= 0x01 && number <= 0x08) || number == 0x0B || (number >= 0x0E && number <= 0x1F) ||
                   (number >= 0x7F && number <= 0x9F);
    bool noncharacter = (number >= 0xFDD0 && number <= 0xFDEF) || (number & 0xFFFE) == 0xFFFE;
    if (control || noncharacter) return U"";
    return std::u32string(1, char32_t(number));
}

namespace detail {

inline int hex_digit_value(char32_t c) {
    if (c >= '0' && c <= '9') return int(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return int((c | 0x20) - 'a' + 10);
    return -1;
}

// Parses the digits at text[pos..] in `base` (saturating: anything past U+10FFFF is equally
// invalid); returns the number of digits read.
inline std::size_t parse_reference_number(std::u32string_view text, std::size_t pos, int base, std::uint64_t& number) {
    std::size_t start = pos;
    number = 0;
    for (; pos < text.size(); ++pos) {
        int digit = base == 16 ? hex_digit_value(text[pos])
                               : (text[pos] >= '0' && text[pos] <= '9' ? int(text[pos] - '0') : -1);
        if (digit < 0) break;
        number = std::min<std::uint64_t>(number * std::uint64_t(base) + std::uint64_t(digit), 0x110000);
    }
    return pos - start;
}

// The value of the HTML5 name `name` when it is all ASCII (as every HTML5 name is).
inline std::optional<std::string_view> html5_entity(std::u32string_view name) {
    if (!is_ascii(name)) return std::nullopt;
    std::string key(name.begin(), name.end());
    return text::html5_entity(key);
}

} // namespace detail

// Python's html.unescape(text).
inline std::u32string html_unescape(std::u32string_view text) {
    if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
    std::u32string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (text[pos] != U'&') {
            out += text[pos++];
            continue;
        }
        std::size_t start = pos + 1;
        if (start < text.size() && text[start] == U'#') {
            // &#[0-9]+;? or &#[xX][0-9a-fA-F]+;?
            bool hex = start + 1 < text.size() && (text[start + 1] == U'x' || text[start + 1] == U'X');
            std::uint64_t number = 0;
            std::size_t digits_at = start + (hex ? 2 : 1);
            std::size_t digits = detail::parse_reference_number(text, digits_at, hex ? 16 : 10, number);
            if (digits == 0) {
                out += text[pos++];
                continue;
            }
            out += html_numeric_reference(number);
            pos = digits_at + digits;
            if (pos < text.size() && text[pos] == U';') ++pos;
            continue;
        }
        // A name: 1..32 characters other than \t \n \f space < & # ;, then an optional ';'.
        static constexpr std::u32string_view stops = U"\t\n\f <&#;";
        std::size_t end = start;
        while (end < text.size() && end - start < 32 && stops.find(text[end]) == std::u32string_view::npos) ++end;
        if (end == start) {
            out += text[pos++];
            continue;
        }
        if (end < text.size() && text[end] == U';') ++end;
        std::u32string_view name = text.substr(start, end - start);
        pos = end;
        if (auto value = detail::html5_entity(name)) {
            out += from_utf8(*value, "html entity table");
            continue;
        }
        // The longest prefix of at least two characters that is a known name, then the rest as is.
        std::size_t prefix = name.size() - 1;
        for (; prefix >= 2; --prefix) {
            if (auto value = detail::html5_entity(name.substr(0, prefix))) {
                out += from_utf8(*value, "html entity table");
                out += name.substr(prefix);
                break;
            }
        }
        if (prefix < 2) {
            out += U'&';
            out += name;
        }
    }
    return out;
}

} // namespace clipft::text
