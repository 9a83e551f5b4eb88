// clipft tokenize: CLIP token ids of texts, one JSON array per line.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <iostream>

namespace clipft::cli {

int tokenize(const Options& options) {
    if (options.positional().empty()) throw UsageError("no TEXT given");
    if (options.flag("truncate") && !options.given("context")) throw UsageError("--truncate needs --context N");
    auto tokenizer = text::Tokenizer::load(options.text("vocab"));
    for (const std::string& text : options.positional()) {
        std::vector<std::int64_t> ids =
            options.given("context") ? tokenizer.tokenize(text, options.integer("context"), options.flag("truncate"))
                                     : tokenizer.tokenize(text);
        std::cout << '[';
        for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? ", " : "") << ids[i];
        std::cout << "]\n";
    }
    return 0;
}

} // namespace clipft::cli
