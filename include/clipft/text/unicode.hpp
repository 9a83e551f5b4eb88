#pragma once
// Unicode services for the text pipeline, and the only header that includes ICU: UTF-8 decoding and
// encoding, the character classes that CLIP's reference tokenizer gets from Python (`str` methods,
// the `re` and `regex` modules), Python's full case mappings, normalisation forms, and the tables of
// single-byte charsets. Text is handled as std::u32string (one element per code point), as Python
// strings index it; every function below has an ASCII fast path, since most text is ASCII.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <unicode/ucnv.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace clipft::inline CLIPFT_BACKENDS::text {

// ---------------------------------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------------------------------

inline void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

inline std::string to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(out, c);
    return out;
}

// The UTF-8 sequence starting at bytes[pos]. Well-formed means what Python's strict decoder accepts:
// shortest form, no surrogates, nothing above U+10FFFF. For an ill-formed sequence, `length` is its
// maximal well-formed prefix (at least 1 byte): the unit that Python's errors="replace" turns into
// one U+FFFD.
struct Utf8Sequence {
    char32_t code_point = 0;
    std::size_t length = 1;
    bool valid = false;
};

inline Utf8Sequence decode_utf8_at(std::string_view bytes, std::size_t pos) {
    auto byte = [&](std::size_t i) { return std::uint8_t(bytes[i]); };
    std::uint8_t lead = byte(pos);
    if (lead < 0x80) return {lead, 1, true};
    std::size_t length;
    std::uint8_t second_low = 0x80, second_high = 0xBF; // the second byte's range depends on the lead
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) second_low = 0xA0;
        if (lead == 0xED) second_high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) second_low = 0x90;
        if (lead == 0xF4) second_high = 0x8F;
    } else {
        return {};
    }
    char32_t code_point = lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i) {
        std::uint8_t low = i == 1 ? second_low : 0x80, high = i == 1 ? second_high : 0xBF;
        if (pos + i >= bytes.size() || byte(pos + i) < low || byte(pos + i) > high) return {0, i, false};
        code_point = (code_point << 6) | (byte(pos + i) & 0x3F);
    }
    return {code_point, length, true};
}

// Strict decoding; `what` names the text's origin in the error.
inline std::u32string from_utf8(std::string_view text, std::string_view what) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        if (std::uint8_t(text[pos]) < 0x80) {
            out += char32_t(text[pos++]);
            continue;
        }
        Utf8Sequence sequence = decode_utf8_at(text, pos);
        if (!sequence.valid)
            fail(what, ": not valid UTF-8 (byte 0x", std::hex, unsigned(std::uint8_t(text[pos])), std::dec,
                 " at offset ", pos, "); pass text as UTF-8");
        out += sequence.code_point;
        pos += sequence.length;
    }
    return out;
}

// Python's bytes.decode("utf-8", errors="replace").
inline std::u32string from_utf8_replacing(std::string_view bytes) {
    std::u32string out;
    out.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        Utf8Sequence sequence = decode_utf8_at(bytes, pos);
        out += sequence.valid ? sequence.code_point : U'\uFFFD';
        pos += sequence.length;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------------------------------

inline bool is_ascii(std::u32string_view text) {
    for (char32_t c : text)
        if (c >= 0x80) return false;
    return true;
}

// \p{L}: general category Lu, Ll, Lt, Lm or Lo.
inline bool is_letter(char32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return (U_GET_GC_MASK(UChar32(c)) & U_GC_L_MASK) != 0;
}

// \p{N}: general category Nd, Nl or No.
inline bool is_number(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return (U_GET_GC_MASK(UChar32(c)) & U_GC_N_MASK) != 0;
}

// The `regex` module's \s: the White_Space property.
inline bool is_whitespace(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
    return u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE) != 0;
}

// Python's str.isspace() (str.strip(), the `re` module's \s): White_Space plus the information
// separators U+001C..U+001F.
inline bool is_python_space(char32_t c) { return is_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

// The `re` module's \d: general category Nd.
inline bool is_decimal_digit(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return u_charType(UChar32(c)) == U_DECIMAL_DIGIT_NUMBER;
}

// The `re` module's \w: str.isalnum() (a letter, or any character with a numeric value) or '_'.
inline bool is_python_word(char32_t c) {
    if (c < 0x80) return c == '_' || is_letter(c) || is_number(c);
    return is_letter(c) || u_getIntPropertyValue(UChar32(c), UCHAR_NUMERIC_TYPE) != U_NT_NONE;
}

// Whether a character that is no letter or number has a case variant that is (only U+0345, which
// case-folds to a Greek iota). Under IGNORECASE the `regex` module then matches it with neither
// [\p{L}] nor [^\s\p{L}\p{N}], so CLIP's pre-tokenizer drops it.
inline bool has_letter_or_number_case_variant(char32_t c) {
    if (c < 0x80 || is_letter(c) || is_number(c)) return false;
    for (UChar32 variant : {u_foldCase(UChar32(c), U_FOLD_CASE_DEFAULT), u_toupper(UChar32(c)), u_tolower(UChar32(c))})
        if (variant != UChar32(c) && (is_letter(char32_t(variant)) || is_number(char32_t(variant)))) return true;
    return false;
}

// ---------------------------------------------------------------------------------------------------
// Case mapping and normalisation (ICU works on UTF-16)
// ---------------------------------------------------------------------------------------------------

namespace detail {

inline std::u16string to_utf16(std::u32string_view text) {
    std::u16string out;
    out.reserve(text.size());
    for (char32_t c : text) {
        if (c < 0x10000) {
            out += char16_t(c);
        } else {
            out += char16_t(0xD800 + ((c - 0x10000) >> 10));
            out += char16_t(0xDC00 + ((c - 0x10000) & 0x3FF));
        }
    }
    return out;
}

inline std::u32string from_utf16(std::u16string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char32_t c = text[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < text.size() && text[i + 1] >= 0xDC00 && text[i + 1] < 0xE000)
            c = 0x10000 + ((c - 0xD800) << 10) + (text[++i] - 0xDC00);
        out += c;
    }
    return out;
}

// Runs an ICU string function `call(destination, capacity, error)` that reports the length it
// needs, growing the buffer once when the first guess is short.
template <typename Call> std::u32string call_icu(std::string_view operation, std::size_t guess, Call&& call) {
    std::u16string buffer(guess, u'\0');
    UErrorCode status = U_ZERO_ERROR;
    int32_t length = call(buffer.data(), int32_t(buffer.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        buffer.assign(std::size_t(length), u'\0');
        status = U_ZERO_ERROR;
        length = call(buffer.data(), int32_t(buffer.size()), &status);
    }
    if (U_FAILURE(status)) fail("text: ICU ", operation, " failed: ", u_errorName(status));
    return from_utf16(std::u16string_view(buffer.data(), std::size_t(length)));
}

inline const UNormalizer2* normalizer(bool compatibility) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* instance = compatibility ? unorm2_getNFKCInstance(&status) : unorm2_getNFCInstance(&status);
    if (U_FAILURE(status)) fail("text: ICU normalisation data is unavailable: ", u_errorName(status));
    return instance;
}

inline std::u32string normalize(std::u32string_view text, bool compatibility) {
    // No character below U+00A0 (NFKC) or U+0300 (NFC) decomposes or combines with its neighbours.
    char32_t stable_below = compatibility ? 0xA0 : 0x300;
    bool stable = true;
    for (char32_t c : text) stable = stable && c < stable_below;
    if (stable) return std::u32string(text);
    const UNormalizer2* form = normalizer(compatibility);
    std::u16string source = to_utf16(text);
    UErrorCode status = U_ZERO_ERROR;
    if (unorm2_isNormalized(form, source.data(), int32_t(source.size()), &status) && U_SUCCESS(status))
        return std::u32string(text);
    return call_icu("normalisation", source.size() + 16, [&](UChar* out, int32_t capacity, UErrorCode* error) {
        return unorm2_normalize(form, source.data(), int32_t(source.size()), out, capacity, error);
    });
}

} // namespace detail

// Python's str.lower(): full lowercase mappings (U+0130 'İ' becomes "i̇", two code points) and the
// Final_Sigma rule ('Σ' becomes 'ς' at the end of a word). ICU's root locale does exactly this.
inline std::u32string to_lower(std::u32string_view text) {
    if (is_ascii(text)) {
        std::u32string out(text);
        for (char32_t& c : out)
            if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        return out;
    }
    std::u16string source = detail::to_utf16(text);
    return detail::call_icu("lower-casing", source.size() + 16, [&](UChar* out, int32_t capacity, UErrorCode* error) {
        return u_strToLower(out, capacity, source.data(), int32_t(source.size()), "", error);
    });
}

// Python's str.upper(): full uppercase mappings ('ß' becomes "SS").
inline std::u32string to_upper(std::u32string_view text) {
    std::u16string source = detail::to_utf16(text);
    return detail::call_icu("upper-casing", source.size() + 16, [&](UChar* out, int32_t capacity, UErrorCode* error) {
        return u_strToUpper(out, capacity, source.data(), int32_t(source.size()), "", error);
    });
}

// Python's unicodedata.normalize("NFC", text).
inline std::u32string nfc(std::u32string_view text) { return detail::normalize(text, false); }

// Python's unicodedata.normalize("NFKC", text).
inline std::u32string nfkc(std::u32string_view text) { return detail::normalize(text, true); }

// ---------------------------------------------------------------------------------------------------
// Single-byte charsets
// ---------------------------------------------------------------------------------------------------

// The code point of each byte in the single-byte charset ICU knows as `name` (e.g. "windows-1252",
// "macintosh", "ibm-437"), or -1 for a byte the charset leaves undefined.
inline std::array<std::int32_t, 256> single_byte_charset(const char* name) {
    UErrorCode status = U_ZERO_ERROR;
    UConverter* converter = ucnv_open(name, &status);
    if (U_FAILURE(status)) fail("text: ICU has no converter for the charset ", name, ": ", u_errorName(status));
    ucnv_setToUCallBack(converter, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
    std::array<std::int32_t, 256> table{};
    for (int byte = 0; byte < 256; ++byte) {
        char input = char(byte);
        UChar output[2];
        status = U_ZERO_ERROR;
        ucnv_resetToUnicode(converter);
        int32_t length = ucnv_toUChars(converter, output, 2, &input, 1, &status);
        table[std::size_t(byte)] = U_SUCCESS(status) && length == 1 ? std::int32_t(output[0]) : -1;
    }
    ucnv_close(converter);
    return table;
}

} // namespace clipft::text
