#pragma once
// A description set: the text descriptions of each class that fine-tuning pairs with the class's
// images and that scoring compares images with. On disk a set is a folder holding one UTF-8 file per
// class, `<class>.txt`, one description per line; the project ships its sets in descriptions/ (see
// the README there). Sets are found by folder path or by name in a list of folders.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/text/unicode.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::text {

namespace detail {

inline std::string join_names(const std::vector<std::string>& names) {
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
    return joined;
}

// The folder as a user means it: "sets/1desc/" and "." name the folder itself.
inline std::filesystem::path without_trailing_separator(const std::filesystem::path& folder) {
    std::filesystem::path normal = std::filesystem::absolute(folder).lexically_normal();
    return normal.filename().empty() ? normal.parent_path() : normal;
}

// The `<class>.txt` files of a folder, by class name (sorted).
inline std::map<std::string, std::filesystem::path> class_files(const std::filesystem::path& folder) {
    std::map<std::string, std::filesystem::path> files;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
        std::error_code type_error;
        if (entry.is_regular_file(type_error) && entry.path().extension() == ".txt")
            files.emplace(entry.path().stem().string(), entry.path());
    }
    if (error) fail("description set ", folder.string(), ": cannot list the folder: ", error.message());
    return files;
}

// Every byte sequence of `line` must be well-formed UTF-8: the tokenizer would reject it later, with no
// file or line to point at.
inline void check_utf8(std::string_view line, const std::filesystem::path& file, std::size_t line_number) {
    for (std::size_t pos = 0; pos < line.size();) {
        Utf8Sequence sequence = decode_utf8_at(line, pos);
        if (!sequence.valid)
            fail(file.string(), ": line ", line_number, " is not valid UTF-8 (byte 0x", std::hex,
                 unsigned(std::uint8_t(line[pos])), std::dec, " at column ", pos + 1, "); save the file as UTF-8");
        pos += sequence.length;
    }
}

inline std::string_view trim_whitespace(std::string_view text) {
    constexpr std::string_view whitespace = " \t\r\n\v\f";
    std::size_t first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(whitespace) - first + 1);
}

// The descriptions of one class file: trimmed lines, blank lines skipped, each description once.
inline std::vector<std::string> read_descriptions(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), ": cannot open for reading: ", std::strerror(errno));
    std::vector<std::string> descriptions;
    std::unordered_map<std::string, std::size_t> line_of;
    std::string line;
    for (std::size_t line_number = 1; std::getline(in, line); ++line_number) {
        // Editors on Windows may start a UTF-8 file with a byte order mark; it is not text.
        if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
        check_utf8(line, file, line_number);
        std::string_view description = trim_whitespace(line);
        if (description.empty()) continue;
        auto [previous, inserted] = line_of.emplace(std::string(description), line_number);
        if (!inserted)
            fail(file.string(), ": lines ", previous->second, " and ", line_number, " hold the same description \"",
                 description, "\"; keep only one of them");
        descriptions.emplace_back(description);
    }
    if (in.bad()) fail(file.string(), ": read failed: ", std::strerror(errno));
    if (descriptions.empty()) fail(file.string(), ": holds no descriptions; write one description per line");
    return descriptions;
}

} // namespace detail

// The names of the description sets in `folder`: its sub-folders that hold at least one `.txt` file,
// sorted. Empty when the folder does not exist.
inline std::vector<std::string> description_set_names(const std::filesystem::path& folder) {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
        std::error_code type_error;
        if (entry.is_directory(type_error) && !detail::class_files(entry.path()).empty())
            names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct DescriptionSet {
    std::string name;                                   // the folder's name
    std::vector<std::string> classes;                   // class names: the files' stems
    std::vector<std::vector<std::string>> descriptions; // [class][description]

    // Reads the set in `folder`. With `class_order`, exactly those classes in that order (other files
    // in the folder are ignored); without it, every `<class>.txt` in file-name order.
    static DescriptionSet load(const std::filesystem::path& folder, const std::vector<std::string>& class_order = {}) {
        std::error_code error;
        if (!std::filesystem::is_directory(folder, error)) {
            if (std::filesystem::exists(folder, error))
                fail("description set ", folder.string(),
                     " is not a folder; a description set is a folder with one <class>.txt file per class");
            std::filesystem::path parent = detail::without_trailing_separator(folder).parent_path();
            std::string nearby;
            if (std::filesystem::is_directory(parent, error)) {
                std::vector<std::string> names = description_set_names(parent);
                nearby = names.empty() ? "; " + parent.string() + " holds no description sets"
                                       : "; the sets in " + parent.string() + " are " + detail::join_names(names);
            }
            fail("description set ", folder.string(), " does not exist", nearby,
                 "; pass a folder with one <class>.txt file per class");
        }

        DescriptionSet set;
        set.name = detail::without_trailing_separator(folder).filename().string();
        std::map<std::string, std::filesystem::path> files = detail::class_files(folder);
        if (class_order.empty()) {
            if (files.empty())
                fail("description set ", folder.string(),
                     " holds no .txt files; write one <class>.txt file per class, one description per line");
            for (const auto& [class_name, file] : files) set.classes.push_back(class_name);
        } else {
            for (const std::string& class_name : class_order) {
                if (!files.contains(class_name)) {
                    std::vector<std::string> present;
                    for (const auto& [present_name, file] : files) present.push_back(present_name);
                    fail("description set ", folder.string(), " has no file for class \"", class_name, "\" (",
                         (folder / (class_name + ".txt")).string(), "); its class files are ",
                         present.empty() ? std::string("none") : detail::join_names(present));
                }
                if (std::find(set.classes.begin(), set.classes.end(), class_name) != set.classes.end())
                    fail("description set ", folder.string(), ": class \"", class_name,
                         "\" is asked for twice; name each class once");
                set.classes.push_back(class_name);
            }
        }
        for (const std::string& class_name : set.classes)
            set.descriptions.push_back(detail::read_descriptions(files.at(class_name)));
        return set;
    }

    std::int64_t class_index(const std::string& class_name) const {
        for (std::size_t index = 0; index < classes.size(); ++index)
            if (classes[index] == class_name) return std::int64_t(index);
        fail("description set ", name, " has no class \"", class_name, "\"; its classes are ",
             detail::join_names(classes));
    }

    // The number of descriptions over all classes.
    std::size_t size() const {
        std::size_t total = 0;
        for (const auto& of_class : descriptions) total += of_class.size();
        return total;
    }
};

// The folders where the shipped description sets are found by name, in order: the installed
// descriptions beside the running program (<prefix>/bin/../share/clipft/descriptions, so that a
// moved install finds its own), then the folder the build defined as CLIPFT_DESCRIPTIONS_DIR: the
// installed CMake package defines it as its own share/clipft/descriptions (clipft_DESCRIPTIONS_DIR,
// found relative to wherever the package is), the build tree as the source tree's descriptions/.
inline std::vector<std::filesystem::path> description_search_folders() {
    std::vector<std::filesystem::path> folders;
    std::error_code error;
    std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error && program.has_parent_path())
        folders.push_back((program.parent_path() / ".." / "share" / "clipft" / "descriptions").lexically_normal());
#ifdef CLIPFT_DESCRIPTIONS_DIR
    std::filesystem::path configured = std::filesystem::path(CLIPFT_DESCRIPTIONS_DIR).lexically_normal();
    if (std::find(folders.begin(), folders.end(), configured) == folders.end()) folders.push_back(configured);
#endif
    return folders;
}

// The folder of a description set given as a path or a name. A path that exists is used as it is;
// otherwise `name_or_path` is looked up as a sub-folder of $CLIPFT_DESCRIPTIONS_DIR (when set), then
// of each of `search_folders` in order (by default the shipped sets' folders above).
inline std::filesystem::path
find_description_set(const std::string& name_or_path,
                     const std::vector<std::filesystem::path>& search_folders = description_search_folders()) {
    std::error_code error;
    if (std::filesystem::exists(name_or_path, error)) return name_or_path;
    std::vector<std::filesystem::path> folders;
    if (const char* from_environment = std::getenv("CLIPFT_DESCRIPTIONS_DIR"); from_environment && *from_environment)
        folders.emplace_back(from_environment);
    folders.insert(folders.end(), search_folders.begin(), search_folders.end());
    std::string searched;
    for (const std::filesystem::path& folder : folders) {
        if (std::filesystem::is_directory(folder / name_or_path, error)) return folder / name_or_path;
        std::vector<std::string> names = description_set_names(folder);
        searched += "; " + folder.string() + (names.empty() ? " holds no sets" : " holds " + detail::join_names(names));
    }
    fail("description set \"", name_or_path, "\": no such folder", folders.empty() ? "" : " and no set of that name",
         searched,
         "; pass a folder with one <class>.txt file per class, or a set's name (CLIPFT_DESCRIPTIONS_DIR "
         "adds a folder to search)");
}

} // namespace clipft::text
