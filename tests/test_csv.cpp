// CSV reading: RFC 4180 quoting, line numbers, and errors that name file and line.
#include <clipft/io/csv.hpp>

#include "assertions.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::error_message;
using clipft::testing::contains;

namespace {

using Fields = std::vector<std::string>;

} // namespace

TEST_CASE("a header and plain rows") {
    io::CsvTable table = io::parse_csv("label,score\n1,0.9\n0,0.25\n", "scores.csv");
    CHECK(table.source == "scores.csv");
    CHECK(table.header == Fields{"label", "score"});
    REQUIRE(table.rows.size() == 2);
    CHECK(table.rows[0].fields == Fields{"1", "0.9"});
    CHECK(table.rows[0].line == 2);
    CHECK(table.rows[1].fields == Fields{"0", "0.25"});
    CHECK(table.rows[1].line == 3);
    CHECK(table.column("score") == 1);
    CHECK(!table.find_column("video").has_value());
    CHECK(table.where(table.rows[1]) == "scores.csv:3");
    std::string missing = error_message([&] { table.column("video"); });
    CHECK(contains(missing, "scores.csv: no column 'video'"));
    CHECK(contains(missing, "(columns: label, score)"));
}

TEST_CASE("quoted fields, CRLF, empty lines, a byte order mark, no final line break") {
    std::string text = "\xEF\xBB\xBFpath,caption\r\n"
                       "\"a,b.png\",\"said \"\"hi\"\"\"\r\n"
                       "\r\n"
                       "c.png,\"two\nlines\"\n"
                       "\n"
                       "\"\",last";
    io::CsvTable table = io::parse_csv(text, "manifest.csv");
    CHECK(table.header == Fields{"path", "caption"});
    REQUIRE(table.rows.size() == 3);
    CHECK(table.rows[0].fields == Fields{"a,b.png", "said \"hi\""});
    CHECK(table.rows[0].line == 2);
    CHECK(table.rows[1].fields == Fields{"c.png", "two\nlines"});
    CHECK(table.rows[1].line == 4);
    CHECK(table.rows[2].fields == Fields{"", "last"}); // counts the quoted line break: line 7
    CHECK(table.rows[2].line == 7);
}

TEST_CASE("empty fields, no header, other delimiters") {
    io::CsvTable table = io::parse_csv("1,,\n,2,\n", "x.csv", {.header = false});
    CHECK(table.header.empty());
    REQUIRE(table.rows.size() == 2);
    CHECK(table.rows[0].fields == Fields{"1", "", ""});
    CHECK(table.rows[1].fields == Fields{"", "2", ""});
    CHECK(table.rows[0].line == 1);

    io::CsvTable tabs = io::parse_csv("a\tb\n\"x\ty\"\tz\n", "x.tsv", {.header = true, .delimiter = '\t'});
    CHECK(tabs.header == Fields{"a", "b"});
    CHECK(tabs.rows.at(0).fields == Fields{"x\ty", "z"});

    CHECK(io::parse_csv("", "empty.csv", {.header = false}).rows.empty());
    CHECK(io::parse_csv("only,header\n", "h.csv").rows.empty());
}

TEST_CASE("malformed files: the error names file and line") {
    CHECK(contains(error_message([] { io::parse_csv("a,b\n1,2\n3\n", "f.csv"); }),
                   "f.csv:3: 1 fields, but line 1 has 2"));
    CHECK(contains(error_message([] { io::parse_csv("a,b\n1,\"2\n3,4\n", "f.csv"); }),
                   "f.csv:2: the quoted field 2 that starts here is never closed"));
    CHECK(contains(error_message([] { io::parse_csv("a,b\n\"1\"x,2\n", "f.csv"); }),
                   "f.csv:2: unexpected 'x' after the closing quote of field 1"));
    CHECK(contains(error_message([] { io::parse_csv("a,b\n1,2\"3\n", "f.csv"); }),
                   "f.csv:2: a quote inside the unquoted field 2"));
    CHECK(contains(error_message([] { io::parse_csv("a,b,a\n", "f.csv"); }), "the column name 'a' appears twice"));
    CHECK(contains(error_message([] { io::parse_csv("\n\n", "f.csv"); }), "f.csv: no header line"));
}

TEST_CASE("read_csv reads a file and names it in errors") {
    clipft::testing::TemporaryDirectory directory;
    clipft::testing::write_bytes(directory / "rows.csv", "label,score\n1,0.5\n");
    io::CsvTable table = io::read_csv(directory / "rows.csv");
    CHECK(table.header == Fields{"label", "score"});
    CHECK(table.rows.at(0).fields == Fields{"1", "0.5"});
    CHECK(table.source == (directory / "rows.csv").string());
    CHECK(contains(error_message([&] { io::read_csv(directory / "none.csv"); }), "none.csv: cannot open"));
}
