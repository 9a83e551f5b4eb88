// Tokenizer vocabularies. The first byte chooses the format: even, CLIP's gzip-compressed merges file
// (bpe_simple_vocab_16e6.txt.gz) made of the rest; odd, HuggingFace's vocab.json and merges.txt,
// the rest split at its first NUL byte. An accepted vocabulary then encodes, tokenizes and decodes
// a few texts.
#include "fuzz_input.hpp"

#include <clipft/text/tokenizer.hpp>

#include <algorithm>

using namespace clipft;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::span<const std::uint8_t> rest(data + 1, size - 1);
    fuzz::refused_or_accepted([&] {
        std::optional<text::Tokenizer> tokenizer;
        if (data[0] % 2 == 0) {
            tokenizer = text::Tokenizer::from_bpe_file(fuzz::write_scratch("vocab.txt.gz", rest));
        } else {
            auto separator = std::find(rest.begin(), rest.end(), std::uint8_t(0));
            std::size_t vocab_size = std::size_t(separator - rest.begin());
            std::span<const std::uint8_t> merges =
                separator == rest.end() ? std::span<const std::uint8_t>() : rest.subspan(vocab_size + 1);
            tokenizer = text::Tokenizer::from_vocab_files(fuzz::write_scratch("vocab.json", rest.first(vocab_size)),
                                                          fuzz::write_scratch("merges.txt", merges));
        }
        for (std::string_view sample : {"The image of a deepfake.", "a photo of 2 cats &amp; a dog", "<|endoftext|>",
                                        "\xC3\xA9t\xC3\xA9 \xE2\x9C\x93 ok"}) {
            std::vector<std::int64_t> ids = tokenizer->tokenize(sample);
            (void)tokenizer->tokenize(sample, 8, true);
            fuzz::refused_or_accepted([&] { (void)tokenizer->decode(ids); });
        }
    });
    return 0;
}
