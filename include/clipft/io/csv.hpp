#pragma once
// CSV files (RFC 4180) as strings: records end at LF or CRLF; a field in double quotes may hold
// delimiters, line breaks and doubled quotes (""); every record has as many fields as the first.
// Empty lines are skipped and a UTF-8 byte order mark is ignored, as spreadsheet exports need.
// Errors name the file and line and say how to fix the row: the reader is strict rather than
// guessing what a malformed row meant.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::io {

struct CsvRow {
    std::size_t line = 0; // where the record starts, from 1 (a quoted line break makes it span more)
    std::vector<std::string> fields;
};

struct CsvOptions {
    bool header = true; // the first record names the columns
    char delimiter = ',';
};

struct CsvTable {
    std::string source;              // the file, for messages
    std::vector<std::string> header; // empty when read without one
    std::vector<CsvRow> rows;

    std::optional<std::size_t> find_column(std::string_view name) const {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return i;
        return std::nullopt;
    }

    std::size_t column(std::string_view name) const {
        if (auto found = find_column(name)) return *found;
        std::string columns;
        for (const std::string& present : header) columns += (columns.empty() ? "" : ", ") + present;
        fail(source, ": no column '", name, "' in the header (columns: ", columns, ")");
    }

    // "file:line" of a row, to start a message about it.
    std::string where(const CsvRow& row) const { return source + ":" + std::to_string(row.line); }
};

// Parses `text` read from `source` (named in errors).
inline CsvTable parse_csv(std::string_view text, std::string source, const CsvOptions& options = {},
                          const Limits& limits = io::limits()) {
    const char delimiter = options.delimiter;
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r')
        fail(source, ": the CSV delimiter cannot be a quote or a line break");
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    std::vector<CsvRow> records;
    std::size_t line = 1, at = 0;
    auto field_too_long = [&](std::size_t field_line, std::size_t index) {
        fail(source, ":", field_line, ": field ", index + 1,
             " is longer than the limit max_csv_field_bytes = ", limits.max_csv_field_bytes,
             how_to_raise("max_csv_field_bytes"));
    };
    auto line_break_at = [&](std::size_t position) {
        return text[position] == '\n' ||
               (text[position] == '\r' && position + 1 < text.size() && text[position + 1] == '\n');
    };
    auto skip_line_break = [&] {
        at += text[at] == '\r' ? 2 : 1;
        ++line;
    };
    while (at < text.size()) {
        if (line_break_at(at)) { // an empty line
            skip_line_break();
            continue;
        }
        CsvRow record{line, {}};
        while (true) { // one field per pass
            std::string field;
            if (at < text.size() && text[at] == '"') {
                std::size_t opened = line;
                ++at;
                while (true) {
                    if (at >= text.size())
                        fail(source, ":", opened, ": the quoted field ", record.fields.size() + 1,
                             " that starts here is never closed; end it with '\"'");
                    if (field.size() > limits.max_csv_field_bytes) field_too_long(opened, record.fields.size());
                    char c = text[at++];
                    if (c == '\n') ++line;
                    if (c != '"')
                        field += c;
                    else if (at < text.size() && text[at] == '"')
                        field += '"', ++at;
                    else
                        break;
                }
                if (field.size() > limits.max_csv_field_bytes) field_too_long(opened, record.fields.size());
                if (at < text.size() && text[at] != delimiter && !line_break_at(at))
                    fail(source, ":", line, ": unexpected '", text[at], "' after the closing quote of field ",
                         record.fields.size() + 1, "; inside a quoted field write a quote as \"\"");
            } else {
                while (at < text.size() && text[at] != delimiter && !line_break_at(at)) {
                    if (text[at] == '"')
                        fail(source, ":", line, ": a quote inside the unquoted field ", record.fields.size() + 1,
                             "; put the whole field in quotes and double the quotes inside it (\"a \"\"b\"\" c\")");
                    field += text[at++];
                    if (field.size() > limits.max_csv_field_bytes) field_too_long(line, record.fields.size());
                }
            }
            record.fields.push_back(std::move(field));
            if (record.fields.size() > limits.max_csv_columns)
                check_limit(record.fields.size(), limits.max_csv_columns, "max_csv_columns",
                            source + ":" + std::to_string(record.line) + ": the number of fields");
            if (at < text.size() && text[at] == delimiter) {
                ++at;
                continue;
            }
            break;
        }
        if (!records.empty() && record.fields.size() != records.front().fields.size())
            fail(source, ":", record.line, ": ", record.fields.size(), " fields, but line ", records.front().line,
                 " has ", records.front().fields.size(), "; every row needs the same columns");
        records.push_back(std::move(record));
        if (records.size() > limits.max_csv_rows + options.header)
            check_limit(records.size() - options.header, limits.max_csv_rows, "max_csv_rows",
                        source + ": the number of rows");
        if (at < text.size()) skip_line_break();
    }

    CsvTable table;
    table.source = std::move(source);
    if (options.header) {
        if (records.empty()) fail(table.source, ": no header line (the file holds no records)");
        table.header = std::move(records.front().fields);
        for (std::size_t i = 0; i < table.header.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (table.header[i] == table.header[j])
                    fail(table.source, ":", records.front().line, ": the column name '", table.header[i],
                         "' appears twice in the header (columns ", j + 1, " and ", i + 1, ")");
        records.erase(records.begin());
    }
    table.rows = std::move(records);
    return table;
}

inline CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options = {},
                         const Limits& limits = io::limits()) {
    return parse_csv(read_file_text(path, limits.max_csv_bytes, "max_csv_bytes"), path.string(), options, limits);
}

// A field as RFC 4180 writes it: quoted (quotes doubled) when it holds a delimiter, quote or line break.
inline std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

} // namespace clipft::io
