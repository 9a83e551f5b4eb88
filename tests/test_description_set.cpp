// Description sets: the sets shipped in descriptions/ (counts, the thesis' texts, distinct lines that
// fit CLIP's context), reading class files (order, trimming, blank lines, byte order mark), every
// error a user can cause, and finding a set by name.
#include <clipft/text/description_set.hpp>
#include <clipft/text/tokenizer.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#ifndef CLIPFT_SOURCE_DIR
#error "tests need CLIPFT_SOURCE_DIR (the source tree) defined as a string literal"
#endif

using namespace clipft::text;
using clipft::testing::error_message;
using clipft::testing::fixture_path;
using clipft::testing::TemporaryDirectory;
using clipft::testing::write_bytes;
using clipft::testing::contains;

namespace {

const std::filesystem::path shipped = std::filesystem::path(CLIPFT_SOURCE_DIR) / "descriptions";

struct ShippedSet {
    const char* name;
    std::size_t per_class;
};

const ShippedSet shipped_sets[] = {{"1desc", 1},  {"10desc", 10}, {"550desc", 550},
                                   {"catDog", 1}, {"carMoto", 1}, {"FlakeBall", 1}};

// Sets an environment variable for one scope, restoring its previous state at exit.
class EnvironmentVariable {
public:
    EnvironmentVariable(const char* name, const std::string& value) : name_(name) {
        if (const char* previous = std::getenv(name)) previous_ = previous;
        ::setenv(name, value.c_str(), 1);
    }
    EnvironmentVariable(const EnvironmentVariable&) = delete;
    EnvironmentVariable& operator=(const EnvironmentVariable&) = delete;
    ~EnvironmentVariable() {
        if (previous_)
            ::setenv(name_, previous_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> previous_;
};

} // namespace

TEST_CASE("shipped sets: counts per class, distinct lines, no description in both classes") {
    for (const ShippedSet& expected : shipped_sets) {
        CAPTURE(expected.name);
        DescriptionSet set = DescriptionSet::load(shipped / expected.name, {"real", "fake"});
        CHECK(set.name == expected.name);
        CHECK(set.classes == std::vector<std::string>{"real", "fake"});
        REQUIRE(set.descriptions.size() == 2);
        CHECK(set.descriptions[0].size() == expected.per_class);
        CHECK(set.descriptions[1].size() == expected.per_class);
        CHECK(set.size() == 2 * expected.per_class);
        const std::set<std::string> real(set.descriptions[0].begin(), set.descriptions[0].end());
        const std::set<std::string> fake(set.descriptions[1].begin(), set.descriptions[1].end());
        CHECK(real.size() == expected.per_class);
        CHECK(fake.size() == expected.per_class);
        for (const std::string& line : set.descriptions[0]) CHECK_MESSAGE(!fake.contains(line), line);

        // Without an order: every class file, sorted by name.
        DescriptionSet sorted = DescriptionSet::load(shipped / expected.name);
        CHECK(sorted.classes == std::vector<std::string>{"fake", "real"});
        CHECK(sorted.descriptions[1] == set.descriptions[0]);
    }
}

TEST_CASE("shipped sets: the thesis' one-description texts (section 8.2)") {
    using Pair = std::vector<std::vector<std::string>>;
    auto texts = [](const char* name) { return DescriptionSet::load(shipped / name, {"real", "fake"}).descriptions; };
    CHECK(texts("1desc") == Pair{{"The image of a person."}, {"The image of a deepfake."}});
    CHECK(texts("catDog") == Pair{{"The image of a cat."}, {"The image of a dog."}});
    CHECK(texts("carMoto") == Pair{{"The image of a car."}, {"The image of a motorcycle."}});
    CHECK(texts("FlakeBall") == Pair{{"The image of a paintball."}, {"The image of a cornflake."}});
}

TEST_CASE("shipped sets: 10desc holds the thesis' Tables 10 and 11 in order") {
    DescriptionSet set = DescriptionSet::load(shipped / "10desc", {"real", "fake"});
    REQUIRE(set.descriptions[0].size() == 10);
    REQUIRE(set.descriptions[1].size() == 10);
    CHECK(set.descriptions[0].front() == "The image of an unaltered, authentic person.");
    CHECK(set.descriptions[0][5] ==
          "An image that shows no signs of digital tampering, editing, or manipulation, reflecting its authenticity.");
    CHECK(set.descriptions[0].back() ==
          "Facial features in the image exhibit natural proportions and symmetry, indicating no modifications.");
    CHECK(set.descriptions[1].front() ==
          "There are inconsistencies in the facial details, suggesting the possibility of a deepfake.");
    CHECK(set.descriptions[1][2] ==
          "It seems that the image undergoes digital modification, particularly in the face region.");
    CHECK(set.descriptions[1].back() ==
          "The image presents anomalies in the facial symmetry, casting doubt on the authenticity of the face.");
}

TEST_CASE("shipped sets: 550desc is written in many sentence shapes") {
    DescriptionSet set = DescriptionSet::load(shipped / "550desc", {"real", "fake"});
    for (const auto& of_class : set.descriptions) {
        // One template with swapped words would start (almost) every line the same way.
        std::set<std::string> openings;
        for (const std::string& line : of_class) {
            std::size_t third_space = line.find(' ', line.find(' ', line.find(' ') + 1) + 1);
            openings.insert(line.substr(0, third_space));
        }
        CHECK(openings.size() >= 20);
    }
}

TEST_CASE("shipped sets: every description fits CLIP's 77-token context") {
    auto vocabulary = fixture_path("clip/bpe_simple_vocab_16e6.txt.gz");
    if (vocabulary.empty()) return;
    const Tokenizer tokenizer = Tokenizer::load(vocabulary);
    for (const ShippedSet& expected : shipped_sets) {
        DescriptionSet set = DescriptionSet::load(shipped / expected.name);
        for (const auto& of_class : set.descriptions)
            for (const std::string& line : of_class) {
                std::size_t tokens = tokenizer.tokenize(line).size(); // start and end markers included
                CHECK_MESSAGE(tokens <= 77, expected.name << ": " << line);
                CHECK(tokens > 2);
            }
    }
}

TEST_CASE("load: class order, ignored files, trimming, blank lines, CRLF and a byte order mark") {
    TemporaryDirectory folder;
    std::filesystem::create_directory(folder / "animals");
    write_bytes(folder / "animals" / "cat.txt", "\xEF\xBB\xBF  A cat.\r\n\r\n\t A small cat. \t\r\n   \n");
    write_bytes(folder / "animals" / "dog.txt", "A dog.\nA big dog.\nA \xC3\xA9l\xC3\xA9gant dog."); // no final newline
    write_bytes(folder / "animals" / "bird.txt", "A bird.\n");
    write_bytes(folder / "animals" / "notes.md", "not a class\n");
    std::filesystem::create_directory(folder / "animals" / "fish.txt"); // a folder, not a class file

    DescriptionSet set = DescriptionSet::load(folder / "animals" / "", {"dog", "cat"});
    CHECK(set.name == "animals");
    CHECK(set.classes == std::vector<std::string>{"dog", "cat"});
    CHECK(set.descriptions ==
          std::vector<std::vector<std::string>>{{"A dog.", "A big dog.", "A \xC3\xA9l\xC3\xA9gant dog."},
                                                {"A cat.", "A small cat."}});
    CHECK(set.size() == 5);
    CHECK(set.class_index("dog") == 0);
    CHECK(set.class_index("cat") == 1);

    DescriptionSet all = DescriptionSet::load(folder / "animals");
    CHECK(all.classes == std::vector<std::string>{"bird", "cat", "dog"});
    CHECK(all.size() == 6);
    CHECK(all.class_index("dog") == 2);
}

TEST_CASE("load: errors name the file, the line and what to do") {
    TemporaryDirectory folder;
    std::filesystem::create_directory(folder / "first");
    write_bytes(folder / "first" / "real.txt", "A photo.\n");
    write_bytes(folder / "first" / "fake.txt", "A fake.\n");
    std::filesystem::create_directory(folder / "second");
    write_bytes(folder / "second" / "yes.txt", "Yes.\n");
    std::filesystem::create_directory(folder / "not a set");

    SUBCASE("a missing folder lists the sets next to it") {
        std::string message = error_message([&] { DescriptionSet::load(folder / "third"); });
        CHECK(contains(message, (folder / "third").string() + " does not exist"));
        CHECK(contains(message, "the sets in " + folder.path().string() + " are first, second;"));
    }
    SUBCASE("a missing folder in an empty or missing parent") {
        std::string message = error_message([&] { DescriptionSet::load(folder / "not a set" / "x"); });
        CHECK(contains(message, "does not exist; " + (folder / "not a set").string() + " holds no description sets"));
        message = error_message([&] { DescriptionSet::load(folder / "nowhere" / "x"); });
        CHECK(contains(message, (folder / "nowhere" / "x").string() + " does not exist; pass a folder"));
    }
    SUBCASE("a file instead of a folder") {
        CHECK(contains(error_message([&] { DescriptionSet::load(folder / "first" / "real.txt"); }), "is not a folder"));
    }
    SUBCASE("a folder without class files") {
        CHECK(contains(error_message([&] { DescriptionSet::load(folder / "not a set"); }), "holds no .txt files"));
    }
    SUBCASE("a class without a file") {
        std::string message = error_message([&] { DescriptionSet::load(folder / "first", {"real", "morphed"}); });
        CHECK(contains(message, "has no file for class \"morphed\""));
        CHECK(contains(message, (folder / "first" / "morphed.txt").string()));
        CHECK(contains(message, "its class files are fake, real"));
    }
    SUBCASE("a class asked for twice") {
        CHECK(contains(error_message([&] {
                           DescriptionSet::load(folder / "first", {"real", "real"});
                       }),
                       "class \"real\" is asked for twice"));
    }
    SUBCASE("an empty class file") {
        write_bytes(folder / "first" / "fake.txt", "\n  \r\n\t\n");
        std::string message = error_message([&] { DescriptionSet::load(folder / "first"); });
        CHECK(contains(message, (folder / "first" / "fake.txt").string() + ": holds no descriptions"));
    }
    SUBCASE("the same description twice, even with other spacing") {
        write_bytes(folder / "first" / "real.txt", "A photo.\nA portrait.\n\n  A photo.\r\n");
        std::string message = error_message([&] { DescriptionSet::load(folder / "first"); });
        CHECK(contains(message, (folder / "first" / "real.txt").string() +
                                    ": lines 1 and 4 hold the same description \"A photo.\""));
    }
    SUBCASE("invalid UTF-8") {
        write_bytes(folder / "first" / "fake.txt", "A fake.\nA caf\xE9 photo.\n"); // Latin-1 é
        std::string message = error_message([&] { DescriptionSet::load(folder / "first"); });
        CHECK(contains(message, (folder / "first" / "fake.txt").string() +
                                    ": line 2 is not valid UTF-8 (byte 0xe9 at column 6)"));
    }
    SUBCASE("an unknown class") {
        DescriptionSet set = DescriptionSet::load(folder / "first");
        CHECK(contains(error_message([&] { set.class_index("Real"); }),
                       "description set first has no class \"Real\"; its classes are fake, real"));
    }
}

TEST_CASE("find_description_set: a path as it is, else by name in $CLIPFT_DESCRIPTIONS_DIR, then the folders given") {
    TemporaryDirectory first, second;
    for (const auto* root : {&first, &second}) {
        std::filesystem::create_directories(*root / "set_in_both");
        write_bytes(*root / "set_in_both" / "real.txt", "A photo.\n");
    }
    std::filesystem::create_directories(second / "set_in_second");
    write_bytes(second / "set_in_second" / "real.txt", "A photo.\n");

    CHECK(find_description_set((first / "set_in_both").string(), {second.path()}) == first / "set_in_both");
    CHECK(find_description_set("set_in_both", {first.path(), second.path()}) == first / "set_in_both");
    CHECK(find_description_set("set_in_second", {first.path(), second.path()}) == second / "set_in_second");
    {
        EnvironmentVariable environment("CLIPFT_DESCRIPTIONS_DIR", second.path().string());
        CHECK(find_description_set("set_in_both", {first.path()}) == second / "set_in_both");
        CHECK(find_description_set("set_in_second", {}) == second / "set_in_second");
    }
    EnvironmentVariable environment("CLIPFT_DESCRIPTIONS_DIR", "");
    std::string message = error_message([&] { find_description_set("missing", {first.path(), second.path()}); });
    CHECK(contains(message, "description set \"missing\": no such folder and no set of that name"));
    CHECK(contains(message, first.path().string() + " holds set_in_both; " + second.path().string() +
                                " holds set_in_both, set_in_second"));
    CHECK(contains(error_message([&] { find_description_set("missing", {}); }), "\"missing\": no such folder;"));
    CHECK(find_description_set("550desc", {shipped}) == shipped / "550desc");
}
