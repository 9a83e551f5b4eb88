// The progress bar's text when written to a file (not a terminal): counts, status, speed, ETA.
#include "fixtures.hpp"

#include <clipft/progress.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

using namespace clipft;

namespace {

std::string contents(std::FILE* file) {
    std::rewind(file);
    std::string text;
    for (int c; (c = std::fgetc(file)) != EOF;) text += char(c);
    return text;
}

} // namespace

TEST_CASE("durations read as minutes:seconds or hours:minutes:seconds") {
    CHECK(ProgressBar::format_duration(0) == "0:00");
    CHECK(ProgressBar::format_duration(75.4) == "1:15");
    CHECK(ProgressBar::format_duration(3 * 3600 + 62) == "3:01:02");
}

TEST_CASE("into a file the bar writes plain lines: the final one with counts, status and speed") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file);
    {
        ProgressBar bar("epoch 1/3", 4, "img", true, 0, file, 1e9); // never by time: only the final line
        for (int done = 1; done <= 3; ++done) bar.update(done, "loss 0.5", 16);
        CHECK(contents(file).empty());
        bar.update(4, "loss 0.25", 16);
    }
    std::string text = contents(file);
    CHECK(text.find("epoch 1/3 100% |####################| 4/4  loss 0.25") == 0);
    CHECK(text.find(" img/s") != std::string::npos);
    CHECK(text.find("\r") == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1); // finish() after the final update adds nothing
    std::fclose(file);
}

TEST_CASE("a disabled bar writes nothing") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file);
    {
        ProgressBar bar("quiet", 2, "it", false, 0, file);
        bar.update(2);
    }
    CHECK(contents(file).empty());
    std::fclose(file);
}
