// Python's html.unescape(): numeric references with their HTML5 replacements, all HTML5 names, legacy
// names without a semicolon and as prefixes. Expected values are Python 3.11's results.
#include <clipft/text/html.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace clipft::text;

TEST_CASE("the HTML5 entity table") {
    CHECK(html5_entity("amp;") == "&");
    CHECK(html5_entity("amp") == "&"); // legacy, without semicolon
    CHECK(html5_entity("hellip;") == "\u2026");
    CHECK(html5_entity("Jscr;") == "\U0001D4A5");
    CHECK(html5_entity("NotEqualTilde;") == "\u2242\u0338");
    CHECK_FALSE(html5_entity("hellip").has_value()); // only legacy names work without ';'
    CHECK_FALSE(html5_entity("nosuchname;").has_value());
    CHECK(std::size(detail::html5_entities) == 2231);
}

TEST_CASE("html_unescape: named references") {
    CHECK(html_unescape(U"Tom &amp; Jerry &lt;3 &quot;cheese&quot;") == U"Tom & Jerry <3 \"cheese\"");
    CHECK(html_unescape(U"&amp;amp;") == U"&amp;"); // one level per call
    CHECK(html_unescape(U"&lt") == U"<");
    CHECK(html_unescape(U"&AMP") == U"&");
    CHECK(html_unescape(U"&notit;") == U"¬it;"); // longest known prefix
    CHECK(html_unescape(U"&copyx;") == U"©x;");
    CHECK(html_unescape(U"&NotEqualTilde;") == U"\u2242\u0338");
    CHECK(html_unescape(U"&;") == U"&;");
    CHECK(html_unescape(U"a&b") == U"a&b");
    CHECK(html_unescape(U"&ThisIsAVeryLongNameThatExceedsThirtyTwoCharsss;") ==
          U"&ThisIsAVeryLongNameThatExceedsThirtyTwoCharsss;");
    CHECK(html_unescape(U"no entities here") == U"no entities here");
}

TEST_CASE("html_unescape: numeric references") {
    CHECK(html_unescape(U"&#39;a&#x27;b&#X41;") == U"'a'bA");
    CHECK(html_unescape(U"&#65abc") == U"Aabc"); // no semicolon needed
    CHECK(html_unescape(U"&#x1F600;") == U"\U0001F600");
    CHECK(html_unescape(U"&#0;") == U"\uFFFD");
    CHECK(html_unescape(U"&#13;") == U"\r");
    CHECK(html_unescape(U"&#128;") == U"€");      // 0x80..0x9F read as windows-1252
    CHECK(html_unescape(U"&#x81;") == U"\u0081"); // undefined there: stays
    CHECK(html_unescape(U"&#xD800;") == U"\uFFFD");
    CHECK(html_unescape(U"&#x110000;") == U"\uFFFD");
    CHECK(html_unescape(U"&#9999999999999999999999;") == U"\uFFFD");
    CHECK(html_unescape(U"[&#1;&#11;&#127;&#xFFFE;]") == U"[]"); // controls and non-characters vanish
    CHECK(html_unescape(U"&#x;") == U"&#x;");
}
