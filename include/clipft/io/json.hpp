#pragma once
// JSON for clipft (nlohmann/json): the only header that includes it. Parse errors name the file and
// the byte of the file where parsing stopped.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/limits.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace clipft::inline CLIPFT_BACKENDS::io {

using Json = nlohmann::json;

// The whole content of a file, refused when it holds more than `max_bytes`, the io::Limits member
// `limit_name`: checked from the size of a regular file before reading, and while reading anything else.
inline std::string read_file_text(const std::filesystem::path& path, std::uint64_t max_bytes,
                                  std::string_view limit_name) {
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error))
        check_limit(std::filesystem::file_size(path, error), max_bytes, limit_name, path.string() + ": the file size");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path.string(), ": cannot open for reading: ", std::strerror(errno));
    std::string content;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        content.append(buffer, std::size_t(in.gcount()));
        if (content.size() > max_bytes)
            check_limit(content.size(), max_bytes, limit_name, path.string() + ": the bytes read so far");
    }
    if (in.bad()) fail(path.string(), ": read failed: ", std::strerror(errno));
    return content;
}

// Parses `text`, which starts at byte `file_offset` of the file `source` (for error messages).
// `callback` is nlohmann's parser callback (e.g. to see every key, duplicates included).
inline Json parse_json(std::string_view text, const std::string& source, std::size_t file_offset = 0,
                       const Json::parser_callback_t& callback = nullptr) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."; the
    // bracketed tag means nothing to a user.
    auto reason = [](const Json::exception& error) {
        std::string_view message = error.what();
        if (auto tag_end = message.find("] "); tag_end != std::string_view::npos) message.remove_prefix(tag_end + 2);
        return message;
    };
    try {
        return Json::parse(text, callback);
    } catch (const Json::parse_error& error) {
        std::size_t byte = file_offset + (error.byte > 0 ? error.byte - 1 : 0); // error.byte counts from 1
        fail(source, ": invalid JSON at byte ", byte, " of the file: ", reason(error));
    } catch (const Json::out_of_range& error) {
        // A number beyond double's range (1e400) is reported as out of range, not as a parse error
        // (found by fuzz/fuzz_clip_config.cpp).
        std::string_view message = reason(error);
        fail(source, ": invalid JSON: ", message.substr(0, 120), message.size() > 120 ? "..." : "");
    }
}

// `value` as a whole number; `what` names it in errors. (nlohmann's get<std::int64_t>() converts a
// floating-point value even when it is out of range, which is undefined behaviour.)
inline std::int64_t json_integer(const Json& value, const std::string& what) {
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t(INT64_MAX)))
        fail(what, " must be a whole number below 2^63, not ", value.dump().substr(0, 40));
    return value.get<std::int64_t>();
}

inline Json read_json_file(const std::filesystem::path& path, const Limits& limits = io::limits()) {
    return parse_json(read_file_text(path, limits.max_json_bytes, "max_json_bytes"), path.string());
}

} // namespace clipft::io
