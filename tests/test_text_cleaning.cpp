// CLIP's cleaning steps: basic_clean (ftfy, HTML twice, strip), whitespace_clean, lower case.
#include <clipft/text/text_cleaning.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace clipft;
using namespace clipft::text;

TEST_CASE("strip removes str.isspace() characters at both ends") {
    CHECK(strip(U" \x1C\x1D"
                U"ab c\x1F\u3000\n") == U"ab c");
    CHECK(strip(U"\u200Bab") == U"\u200Bab"); // a zero-width space is no whitespace
    CHECK(strip(U"   ").empty());
}

TEST_CASE("whitespace_clean collapses runs of Unicode whitespace") {
    CHECK(whitespace_clean(U"  a \t\n b\u00A0\u2003c\u3000\u2028d  ") == U"a b c d");
    CHECK(whitespace_clean(U"\u200Ba\u200Bb") == U"\u200Ba\u200Bb");
}

TEST_CASE("basic_clean: ftfy, then HTML unescaped twice, then stripped") {
    CHECK(basic_clean(U" double escaped &amp;amp;lt; ") == U"double escaped <");
    CHECK(basic_clean(U"<b>&amp;amp;</b>") == U"<b>&</b>"); // ftfy leaves HTML alone; html.unescape does not
}

TEST_CASE("clean_text is the string the pre-tokenizer sees") {
    CHECK(clean_text(std::string("  The IMAGE\r\nof  a PERSON. ")) == "the image of a person.");
    CHECK(clean_text(std::string("ΣΟΦΟΣ İstanbul")) == "σοφος i\u0307stanbul");
    CHECK(clean_text(std::string("caf\u00C3\u00A9 &amp;amp; ＡＩ")) == "café & ai");
    CHECK_THROWS_AS(clean_text(std::string("bad \xFF byte")), Error);
}
