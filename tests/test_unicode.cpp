// Unicode services: UTF-8 (Python's strict and errors="replace" decoding), the character classes of
// Python's str methods and the re/regex modules, Python's case mappings, normalisation, and charset
// tables. Expected values are Python 3.11's results, written out.
#include <clipft/text/unicode.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace clipft;
using namespace clipft::text;

namespace {

std::u32string lower(std::u32string_view text) { return to_lower(text); }

} // namespace

TEST_CASE("UTF-8 round trip of every length") {
    std::u32string text(U"a\u00E9\u20AC\U0001F600\0z", 6);
    std::string bytes = to_utf8(text);
    CHECK(bytes == std::string("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\0z", 12));
    CHECK(from_utf8(bytes, "test") == text);
}

TEST_CASE("strict UTF-8 decoding rejects what Python rejects, naming the offset") {
    for (std::string bad : {"\xC0\x80", "\xED\xA0\x80", "\xE2\x82", "\xF4\x90\x80\x80", "\xFF", "\x80"}) {
        CHECK_THROWS_AS(from_utf8("ok " + bad, "the text"), Error);
    }
    CHECK_THROWS_WITH_AS(from_utf8("ab\xE9", "the caption"),
                         "the caption: not valid UTF-8 (byte 0xe9 at offset 2); pass text as UTF-8", Error);
}

TEST_CASE("errors=replace: one U+FFFD per maximal ill-formed subsequence, as Python") {
    CHECK(from_utf8_replacing("\xE2\x82"
                              "a") == U"\uFFFDa");
    CHECK(from_utf8_replacing("\xED\xA0\x80") == U"\uFFFD\uFFFD\uFFFD");
    CHECK(from_utf8_replacing("\xC0\x80") == U"\uFFFD\uFFFD");
    CHECK(from_utf8_replacing("\xF0\x9F\x98") == U"\uFFFD");
    CHECK(from_utf8_replacing("\xF4\x90\x80\x80") == U"\uFFFD\uFFFD\uFFFD\uFFFD");
    CHECK(from_utf8_replacing("\xF0\x9F\x98\x80") == U"\U0001F600");
}

TEST_CASE("character classes") {
    SUBCASE("letters: general category L") {
        for (char32_t c : {U'a', U'Z', U'é', U'ǅ', U'ʰ', U'東', U'ß', U'ſ'}) CHECK(is_letter(c));
        for (char32_t c : {U'1', U'_', U' ', U'\u0301', U'\u0345', U'Ⓐ', U'😀', U'\u00B2'}) CHECK_FALSE(is_letter(c));
    }
    SUBCASE("numbers: general category N") {
        for (char32_t c : {U'0', U'\u0663', U'½', U'²', U'③', U'Ⅳ'}) CHECK(is_number(c));
        for (char32_t c : {U'a', U'-', U'東'}) CHECK_FALSE(is_number(c));
    }
    SUBCASE("whitespace: White_Space (regex's \\s) and str.isspace()") {
        for (char32_t c : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', U'\u0085', U'\u00A0', U'\u1680', U'\u2000',
                           U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'}) {
            CHECK(is_whitespace(c));
            CHECK(is_python_space(c));
        }
        for (char32_t c : {U'\x1C', U'\x1F'}) {
            CHECK_FALSE(is_whitespace(c));
            CHECK(is_python_space(c));
        }
        for (char32_t c : {U'\u200B', U'\u180E', U'\uFEFF', U'a'}) CHECK_FALSE(is_python_space(c));
    }
    SUBCASE("re's \\w and \\d") {
        for (char32_t c : {U'a', U'_', U'7', U'½', U'東', U'\u0663'}) CHECK(is_python_word(c));
        for (char32_t c : {U'-', U' ', U'\u0301', U'😀'}) CHECK_FALSE(is_python_word(c));
        CHECK(is_decimal_digit(U'\u0663'));
        CHECK_FALSE(is_decimal_digit(U'½'));
    }
    SUBCASE("only U+0345 is neither letter nor number yet case-folds to one") {
        CHECK(has_letter_or_number_case_variant(U'\u0345'));
        for (char32_t c : {U'a', U'Ⓐ', U'ⓐ', U'\u0301', U'-', U'Ⅳ'}) CHECK_FALSE(has_letter_or_number_case_variant(c));
    }
}

TEST_CASE("to_lower is Python's str.lower()") {
    CHECK(lower(U"A PHOTO Of É") == U"a photo of é");
    CHECK(lower(U"İSTANBUL") == U"i\u0307stanbul");
    CHECK(lower(U"ẞ") == U"ß");
    CHECK(lower(U"\u212A") == U"k");
    CHECK(lower(U"ǅ") == U"ǆ");
    SUBCASE("final sigma") {
        CHECK(lower(U"ΣΑΣ") == U"σας");
        CHECK(lower(U"Σ") == U"σ");
        CHECK(lower(U"ΑΣ ΑΣ.") == U"ας ας.");
        CHECK(lower(U"Α.Σ") == U"α.ς");
        CHECK(lower(U"ΑΣ'Α") == U"ασ'α");
        CHECK(lower(U"ΑΣ'") == U"ας'");
        CHECK(lower(U"ΑΣ\u0301") == U"ας\u0301");
        CHECK(lower(U"ΑΣ\u0301Α") == U"ασ\u0301α");
    }
}

TEST_CASE("to_upper is Python's str.upper()") {
    CHECK(to_upper(U"ß") == U"SS");
    CHECK(to_upper(U"ﬁ") == U"FI");
    CHECK(to_upper(U"ǆ") == U"Ǆ");
}

TEST_CASE("normalisation") {
    CHECK(nfc(U"e\u0301") == U"é");
    CHECK(nfc(U"\u212B") == U"\u00C5");
    CHECK(nfc(U"\u1100\u1161") == U"가");
    CHECK(nfc(U"plain ascii") == U"plain ascii");
    CHECK(nfc(U"ﬁ") == U"ﬁ");
    CHECK(nfkc(U"ﬁ") == U"fi");
    CHECK(nfkc(U"\uFF76") == U"カ");
    CHECK(nfkc(U"\uFF9E") == U"\u3099");
}

TEST_CASE("single-byte charsets from ICU") {
    auto windows_1252 = single_byte_charset("windows-1252");
    CHECK(windows_1252['A'] == 'A');
    CHECK(windows_1252[0x80] == 0x20AC);
    CHECK(windows_1252[0x9F] == 0x0178);
    CHECK(windows_1252[0xE9] == 0xE9);
    CHECK(single_byte_charset("windows-1251")[0xC0] == 0x0410);
    CHECK(single_byte_charset("macintosh")[0x8E] == 0x00E9);
    CHECK_THROWS_AS(single_byte_charset("no-such-charset-xyz"), Error);
}
