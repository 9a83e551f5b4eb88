#pragma once
// The DFDC Preview (Dolhansky et al., 2019) in its own layout: R/dataset.json maps each video's
// path relative to R to {"label": "real"|"fake", "set": "train"|"test"}, e.g.
//   "original_videos/1255229/1255229_A_001.mp4" (real), "method_A/1255229/1255229_A/1255229_A_001_B_003.mp4".
// A video's folder under its top folder names the person (the actor id); a fake's subset is its top
// folder (method_A, method_B), its source the person's real videos. Train and test are the official
// sets; validation an identity-safe share of train (data/identity_split.hpp).
#include <clipft/backends.hpp>
#include <clipft/data/datasets/video_list.hpp>
#include <clipft/io/json.hpp>

#include <string>

namespace clipft::inline CLIPFT_BACKENDS::data::datasets {

inline VideoSplits import_dfdc_preview(const std::filesystem::path& root_given, double validation_fraction,
                                       std::uint64_t seed) {
    namespace fs = std::filesystem;
    const fs::path root = fs::absolute(root_given).lexically_normal();
    require_folder(root, "--root: the DFDC Preview folder");
    const fs::path file = root / "dataset.json";
    std::error_code error;
    if (!fs::is_regular_file(file, error))
        fail(file.string(), ": no such file; the DFDC Preview lists its videos there");
    const io::Json json = io::read_json_file(file);
    if (!json.is_object())
        fail(file.string(), ": expected an object mapping video paths to {\"label\": ..., \"set\": ...}");
    VideoSplits splits;
    for (const auto& [relative, entry] : json.items()) {
        const std::string where = file.string() + ": \"" + relative + "\"";
        if (!entry.is_object() || !entry.contains("label") || !entry.contains("set") || !entry["label"].is_string() ||
            !entry["set"].is_string())
            fail(where, ": expected {\"label\": \"real\"|\"fake\", \"set\": \"train\"|\"test\"}, found ",
                 entry.dump().substr(0, 80));
        const std::string label = entry["label"], set = entry["set"];
        if (label != "real" && label != "fake") fail(where, ": label '", label, "' is neither real nor fake");
        if (set != "train" && set != "test") fail(where, ": set '", set, "' is neither train nor test");
        const fs::path path = fs::path(relative).lexically_normal();
        if (path.is_absolute() || path.empty() || *path.begin() == "..")
            fail(where, ": the path must be relative to the folder of dataset.json");
        require_video_file(root / path, file.string());
        std::vector<std::string> parts;
        for (const auto& part : path) parts.push_back(part.string());
        const std::string person = parts.size() >= 3 ? parts[1] : path.stem().string();
        const std::string video = fs::path(path).replace_extension().generic_string();
        (set == "train" ? splits.train : splits.test)
            .push_back({root / path, label, label == "fake" ? parts.front() : "", video, person, {person}});
    }
    hold_out_validation(splits, validation_fraction, seed);
    return splits;
}

} // namespace clipft::data::datasets
