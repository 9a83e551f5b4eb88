// The ftfy 6.3.1 port: each fixer, the badness heuristic, mojibake repair and fix_text's segments.
// Expected values are ftfy's own documented results and test cases (mojibake found in the wild).
#include <clipft/text/ftfy.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace clipft::text;

namespace {

std::string fixed(std::string_view text) { return to_utf8(ftfy::fix_text(from_utf8(text, "test"))); }

std::string encoding_fixed(std::string_view text) { return to_utf8(ftfy::fix_encoding(from_utf8(text, "test"))); }

template <typename Fixer> std::u32string fixed_by(Fixer&& fixer, std::u32string text) {
    fixer(text);
    return text;
}

} // namespace

TEST_CASE("charsets: Python's tables, sloppy where ftfy is") {
    const auto& windows_1252 = ftfy::detail::charset("sloppy-windows-1252");
    CHECK(windows_1252.decode[0x80] == U'€');
    CHECK(windows_1252.decode[0x81] == U'\u0081'); // undefined: passed through
    CHECK(windows_1252.decode[0x1A] == U'\uFFFD'); // ftfy's stand-in for a lost byte
    CHECK(ftfy::detail::charset("latin-1").decode[0x1A] == U'\x1A');
    CHECK(ftfy::detail::charset("sloppy-windows-1253").decode[0xAA] == U'\u00AA');
    CHECK(ftfy::detail::charset("cp437").decode[0xE6] == U'\u00B5');
    CHECK(ftfy::detail::charset("cp437").decode[0x1A] == U'\x1A');
    CHECK(ftfy::detail::charset("macroman").decode[0xDE] == U'ﬁ');
    CHECK(ftfy::detail::charset("iso-8859-2").decode[0xA1] == U'Ą');
}

TEST_CASE("unescape_html: names ending in ';', their all-caps spelling, whole numeric references") {
    auto unescape = [](std::u32string text) { return fixed_by(ftfy::unescape_html, std::move(text)); };
    CHECK(unescape(U"&lt;tag&gt;") == U"<tag>");
    CHECK(unescape(U"&Jscr;ohn &HilbertSpace;ancock") == U"\U0001D4A5ohn \u210Bancock");
    CHECK(unescape(U"&checkmark;") == U"✓");
    CHECK(unescape(U"P&eacute;rez P&EACUTE;REZ") == U"Pérez PÉREZ");
    CHECK(unescape(U"BUNDESSTRA&SZLIG;E") == U"BUNDESSTRASSE");
    CHECK(unescape(U"&ntilde; &Ntilde; &NTILDE; &nTILDE;") == U"ñ Ñ Ñ &nTILDE;");
    CHECK(unescape(U"&#39;a&#x27;") == U"'a'");
    CHECK(unescape(U"&#59;") == U"&#59;");                                             // would leave a ';': kept
    CHECK(unescape(U"&#65abc;") == U"&#65abc;");                                       // only partly numeric: kept
    CHECK(unescape(U"&amp &notit; &frac12;") == U"&amp &notit; ½");                    // no legacy or prefix forms
    CHECK(unescape(U"&aaaaaaaaaaaaaaaaaaaaaaaaa;") == U"&aaaaaaaaaaaaaaaaaaaaaaaaa;"); // over 24 characters
}

TEST_CASE("the character fixers") {
    CHECK(fixed_by(ftfy::remove_terminal_escapes, U"\x1B[36;44mI'm blue\x1B[0m, \x1B[x") == U"I'm blue, ");
    CHECK(fixed_by(ftfy::fix_latin_ligatures, U"ﬂuﬃeﬆ ǅ ŉ") == U"fluffiest Dž ʼn");
    CHECK(fixed_by(ftfy::fix_character_width, U"ＬＯＵＤ　ＮＯＩＳＥＳ") == U"LOUD NOISES");
    CHECK(fixed_by(ftfy::fix_character_width, U"Ｕﾀｰﾝ，！") == U"Uターン,!");
    CHECK(fixed_by(ftfy::uncurl_quotes, U"\u201Chere\u2019s a \u02BCtest\u201D") == U"\"here's a 'test\"");
    CHECK(fixed_by(ftfy::fix_line_breaks, U"a\r\nb\rc\u2028d\u2029e\u0085f\r\r\n") == U"a\nb\nc\nd\ne\nf\n\n");
    CHECK(fixed_by(ftfy::remove_control_chars, U"a\x01\t\n\x0B\x0C\r\x1F\x7F\u206A\uFEFF\uFFFC\u200Db") ==
          U"a\t\n\x0C\r\u200Db");
    CHECK(fixed_by(ftfy::fix_c1_controls, U"x\u0085\u0093\u0081") == U"x…“\u0081");
}

TEST_CASE("the badness heuristic") {
    for (std::u32string_view bad : {U"sÃ³", U"â€œ", U"\u0085", U"Ã perturber", U"вЂ“", U"Ã¢â‚¬Å“"})
        CHECK(ftfy::is_bad(bad));
    for (std::u32string_view good : {U"café naïve", U"Brontë…”", U"HÅØYA ER BLÅØYD", U"├┤a┼┐a┼┐a", U"(-1/2)! = √π",
                                     U"東京タワー", U"Ελληνικά", U"Ã¥klagarmyndighets"})
        CHECK_FALSE(ftfy::is_bad(good));
}

TEST_CASE("fix_encoding: mojibake of the single-byte charsets") {
    CHECK(encoding_fixed("sÃ³") == "só");
    CHECK(encoding_fixed("schÃ¶n") == "schön");
    CHECK(encoding_fixed("âœ” No problems") == "✔ No problems");
    CHECK(encoding_fixed("voilÃ le travail") == "voilà le travail"); // a lost 0xA0
    CHECK(encoding_fixed("com especial atenÃ§Ã£o Ã s crianÃ§as") == "com especial atenção às crianças");
    CHECK(encoding_fixed("Iggy Pop (nÃƒÂ© Jim Osterberg)") == "Iggy Pop (né Jim Osterberg)");      // twice
    CHECK(encoding_fixed("Blog Traffic Tip 2 вЂ“ Broadcast") == "Blog Traffic Tip 2 – Broadcast"); // windows-1251
    CHECK(encoding_fixed("LiĂ¨ge Avenue de l'HĂ´pital") == "Liège Avenue de l'Hôpital");           // windows-1250
    CHECK(encoding_fixed("wei√ü") == "weiß");                                                      // macroman
    CHECK(encoding_fixed("#╨┐╤Ç╨░╨▓╨╕╨╗╤î╨╜╨╛╨╡") == "#правильное");                               // cp437
    CHECK(encoding_fixed("Hi guys \u00ED\u00A0\u00BD\u00ED\u00B8\u008D") == "Hi guys 😍");          // CESU-8
    CHECK(encoding_fixed("â€œlossy decodingâ€\uFFFD") == "“lossy decoding\uFFFD");                 // lost bytes
    CHECK(encoding_fixed("\u0084Handwerk\u0093") == "„Handwerk“");                                 // latin-1 as 1252
    CHECK(encoding_fixed("Ecuador\u00E2\u0080\u0099s \u00E2\u0080\u0098US pressure\u00E2\u0080\u0099\u0085") ==
          "Ecuador’s ‘US pressure’…"); // mojibake runs fixed in place
    SUBCASE("text that only looks odd stays") {
        for (std::string_view text :
             {"I'm not such a fan of Charlotte Brontë…”", "HÅØYA ER BLÅØYD", "Offering 5×£35 pin ups",
              "ВІКІ is Ukrainian for WIKI", "(-1/2)! = √π", "Connect with Āø on Facebook"})
            CHECK(encoding_fixed(text) == text);
    }
}

TEST_CASE("fix_text") {
    CHECK(fixed("&macr;\\_(\u00E3\u0083\u0084)_/&macr;") == "¯\\_(ツ)_/¯");
    CHECK(fixed("line one\r\nline two") == "line one\nline two");
    CHECK(fixed("你好，世界！") == "你好,世界!");
    CHECK(fixed("e\u0301 &amp;amp;") == "é &"); // NFC; repeated until nothing changes
    CHECK(fixed("\u201Cquoted\u201D ﬁne") == "\"quoted\" fine");
    CHECK(fixed("Ningbo\u00EF\u00BC\u0152China") == "Ningbo,China");
    CHECK(fixed("This is signi\u043F\u00AC\u0403cantly lower") == "This is significantly lower");
    SUBCASE("a segment holding '<' and every later one keep their entities") {
        CHECK(fixed("a &amp; b\n<b> &amp;\nc &amp; d") == "a & b\n<b> &amp;\nc &amp; d");
        CHECK(fixed("&lt;b&gt; &amp;") == "<b> &");
    }
    CHECK(fixed("") == "");
}
