// CLIP tokenizer throughput: clip.tokenize(text, 77, truncate=True) over 1100 short descriptions
// ("The image of a smiling person." and the like), on one thread. bench/tokenizer_python.py does the
// same in plain Python (its own SimpleTokenizer-style implementation) for comparison; both generate
// the same texts and print one JSON line with the same fields, including a checksum of all ids.
//
//   cold: a fresh BPE cache for each repetition, so every distinct word goes through BPE once;
//   warm: the cache already holds every word, as when a trainer tokenizes its descriptions again.
//
// Usage: bench_tokenizer [--vocab PATH] [--repetitions N] [--warmup SECONDS]
// (PATH defaults to the shared fixtures' bpe_simple_vocab_16e6.txt.gz).
#include <clipft/text/tokenizer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef CLIPFT_SHARED_DIR
#define CLIPFT_SHARED_DIR "../shared"
#endif

namespace {

// 4 templates x 25 adjectives x 11 nouns = 1100 texts, in this order (the Python side repeats it).
std::vector<std::string> descriptions() {
    const char* templates[][2] = {{"The image of a ", "."},
                                  {"A photo of a ", "."},
                                  {"A close-up picture of a ", "."},
                                  {"An old photograph showing a ", ", taken outdoors."}};
    const char* adjectives[] = {"young",   "old",     "smiling", "serious", "blurry",   "sharp",      "bright",
                                "dark",    "happy",   "tired",   "calm",    "angry",    "surprised",  "distant",
                                "pale",    "tanned",  "bearded", "masked",  "laughing", "thoughtful", "sleepy",
                                "curious", "elegant", "scruffy", "famous"};
    const char* nouns[] = {"person", "man",     "woman",  "child",      "face",    "deepfake",
                           "actor",  "athlete", "singer", "politician", "stranger"};
    std::vector<std::string> texts;
    for (const auto& [prefix, suffix] : templates)
        for (const char* adjective : adjectives)
            for (const char* noun : nouns) texts.push_back(std::string(prefix) + adjective + " " + noun + suffix);
    return texts;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// One pass: every text as 77 ids; returns the checksum sum((position + 1) * id).
std::int64_t pass(const clipft::text::Tokenizer& tokenizer, const std::vector<std::string>& texts) {
    std::int64_t checksum = 0;
    for (const std::string& text : texts) {
        std::vector<std::int64_t> ids = tokenizer.tokenize(text, 77, true);
        for (std::size_t i = 0; i < ids.size(); ++i) checksum += std::int64_t(i + 1) * ids[i];
    }
    return checksum;
}

} // namespace

int main(int argc, char** argv) {
    std::string vocab = std::string(CLIPFT_SHARED_DIR) + "/fixtures/clip/bpe_simple_vocab_16e6.txt.gz";
    int repetitions = 7;
    double warmup = 0.3;
    for (int i = 1; i < argc; ++i) {
        bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--vocab") && has_value)
            vocab = argv[++i];
        else if (!std::strcmp(argv[i], "--repetitions") && has_value)
            repetitions = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--warmup") && has_value)
            warmup = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--vocab PATH] [--repetitions N] [--warmup SECONDS]\n", argv[0]);
            return 2;
        }
    }
    try {
        std::vector<std::string> texts = descriptions();
        auto start = std::chrono::steady_clock::now();
        clipft::text::Tokenizer tokenizer = clipft::text::Tokenizer::load(vocab);
        double load_s = seconds_since(start);

        std::int64_t checksum = pass(tokenizer, texts);
        for (start = std::chrono::steady_clock::now(); seconds_since(start) < warmup;) pass(tokenizer, texts);

        std::vector<double> cold, warm;
        for (int r = 0; r < repetitions; ++r) {
            clipft::text::Tokenizer fresh = clipft::text::Tokenizer::load(vocab); // an empty cache
            start = std::chrono::steady_clock::now();
            pass(fresh, texts);
            cold.push_back(seconds_since(start));
            start = std::chrono::steady_clock::now();
            pass(tokenizer, texts);
            warm.push_back(seconds_since(start));
        }
        double cold_s = median(cold), warm_s = median(warm);
        std::printf(
            "{\"implementation\": \"clipft\", \"texts\": %zu, \"context\": 77, \"threads\": 1, "
            "\"load_s\": %.6f, \"cold_median_s\": %.6f, \"warm_median_s\": %.6f, "
            "\"cold_texts_per_s\": %.1f, \"warm_texts_per_s\": %.1f, \"repetitions\": %d, \"checksum\": %lld}\n",
            texts.size(), load_s, cold_s, warm_s, double(texts.size()) / cold_s, double(texts.size()) / warm_s,
            repetitions, static_cast<long long>(checksum));
    } catch (const clipft::Error& error) {
        std::fprintf(stderr, "bench_tokenizer: %s\n", error.what());
        return 1;
    }
    return 0;
}
