#pragma once
// Writing CSV files: fields quoted where they must be (RFC 4180), the whole file replaced atomically.
#include <clipft/backends.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/csv.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::io {

inline std::string csv_line(const std::vector<std::string>& fields) {
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) line += ','; // not "," + std::string&&: GCC 12 reports a false -Wrestrict for that
        line += csv_field(fields[i]);
    }
    return line + "\n";
}

inline void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows) {
    write_file_atomically(path, [&](FileWriter& writer) {
        writer.write(csv_line(header));
        for (const std::vector<std::string>& row : rows) writer.write(csv_line(row));
    });
}

} // namespace clipft::io
