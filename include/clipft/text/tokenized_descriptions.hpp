#pragma once
// The descriptions of every class, tokenized once: row first_row[c] + d of token_ids holds
// description d of class c. Training batches and scoring both index into this table.
#include <clipft/backends.hpp>
#include <clipft/text/tokenizer.hpp>

#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::text {

struct TokenizedDescriptions {
    Tensor<std::int64_t> token_ids;              // [total, context]
    std::vector<std::int64_t> first_row, counts; // per class

    static TokenizedDescriptions from_texts(const std::vector<std::vector<std::string>>& descriptions_of_class,
                                            const Tokenizer& tokenizer, std::int64_t context = 77) {
        TokenizedDescriptions table;
        std::vector<std::string> all;
        for (std::size_t c = 0; c < descriptions_of_class.size(); ++c) {
            if (descriptions_of_class[c].empty()) fail("TokenizedDescriptions: class ", c, " has no descriptions");
            table.first_row.push_back(std::int64_t(all.size()));
            table.counts.push_back(std::int64_t(descriptions_of_class[c].size()));
            all.insert(all.end(), descriptions_of_class[c].begin(), descriptions_of_class[c].end());
        }
        if (all.empty()) fail("TokenizedDescriptions: no classes given");
        table.token_ids = tokenizer.tokenize_batch(all, context);
        return table;
    }

    std::int64_t classes() const { return std::int64_t(counts.size()); }
    std::int64_t row(std::int64_t class_index, std::int64_t description) const {
        if (class_index < 0 || class_index >= classes() || description < 0 ||
            description >= counts[std::size_t(class_index)])
            fail("TokenizedDescriptions: no description ", description, " of class ", class_index, " (", classes(),
                 " classes)");
        return first_row[std::size_t(class_index)] + description;
    }
};

} // namespace clipft::text
