#pragma once
// The cleaning CLIP's SimpleTokenizer applies before splitting a text into words:
//   basic_clean:      ftfy.fix_text, html.unescape twice, str.strip();
//   whitespace_clean: every run of Unicode whitespace becomes one space, then str.strip();
//   then str.lower() (full case mapping, final sigma).
#include <clipft/backends.hpp>
#include <clipft/text/ftfy.hpp>
#include <clipft/text/html.hpp>
#include <clipft/text/unicode.hpp>

#include <string>
#include <string_view>

namespace clipft::inline CLIPFT_BACKENDS::text {

// Python's str.strip(): leading and trailing str.isspace() characters removed.
inline std::u32string_view strip(std::u32string_view text) {
    while (!text.empty() && is_python_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_python_space(text.back())) text.remove_suffix(1);
    return text;
}

inline std::u32string basic_clean(std::u32string_view text) {
    std::u32string fixed = ftfy::fix_text(text);
    return std::u32string(strip(html_unescape(html_unescape(fixed))));
}

// Runs of the `regex` module's \s (White_Space) as one ASCII space, then stripped.
inline std::u32string whitespace_clean(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        if (!is_whitespace(text[pos])) {
            out += text[pos++];
            continue;
        }
        out += U' ';
        while (pos < text.size() && is_whitespace(text[pos])) ++pos;
    }
    return std::u32string(strip(out));
}

// The text as CLIP's pre-tokenizer sees it: whitespace_clean(basic_clean(text)).lower().
inline std::u32string clean_text(std::u32string_view text) { return to_lower(whitespace_clean(basic_clean(text))); }

inline std::string clean_text(std::string_view text) { return to_utf8(clean_text(from_utf8(text, "clean_text"))); }

} // namespace clipft::text
