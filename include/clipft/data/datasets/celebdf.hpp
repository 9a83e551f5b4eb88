#pragma once
// Celeb-DF v2 (Li et al., CVPR 2020) in its own layout:
//   R/Celeb-real/idA_NNNN.mp4        real videos of celebrity A
//   R/YouTube-real/NNNNN.mp4         real videos of unnamed people
//   R/Celeb-synthesis/idA_idB_NNNN.mp4  idA_NNNN with B's face
//   R/List_of_testing_videos.txt     the official test split: lines "1 Celeb-real/..." (real) or "0 ..." (fake)
// Test: the listed videos; train: all the others. Validation: an identity-safe share of train
// (data/identity_split.hpp: idA_idB links A and B; most identities end up linked, so identities are
// drawn and videos mixing drawn and undrawn ones are dropped, recorded in split.csv). The official
// test list shares identities with training; `drop_test_identities` (clipft dataset
// --disjoint-identities) removes those training videos.
#include <clipft/backends.hpp>
#include <clipft/data/datasets/video_list.hpp>
#include <clipft/io/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <set>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::data::datasets {

// A Celeb-DF video by its path relative to the root ("Celeb-synthesis/id0_id1_0000.mp4").
inline Video celeb_df_video(const std::filesystem::path& root, const std::string& relative, const std::string& where) {
    static const std::regex celebrity(R"((id\d+)_(\d+))"), synthesis(R"((id\d+)_(id\d+)_(\d+))"), youtube(R"(\d+)");
    const std::filesystem::path path(relative);
    const std::string folder = path.parent_path().generic_string(), stem = path.stem().string();
    std::smatch match;
    if (folder == "Celeb-real" && std::regex_match(stem, match, celebrity))
        return {root / path, "real", "", folder + "/" + stem, folder + "/" + stem, {match[1]}};
    if (folder == "YouTube-real" && std::regex_match(stem, youtube))
        return {root / path, "real", "", folder + "/" + stem, folder + "/" + stem, {"youtube-" + stem}};
    if (folder == "Celeb-synthesis" && std::regex_match(stem, match, synthesis))
        return {root / path,
                "fake",
                "Celeb-synthesis",
                folder + "/" + stem,
                "Celeb-real/" + match[1].str() + "_" + match[3].str(),
                {match[1], match[2]}};
    fail(where, ": '", relative,
         "' is not a Celeb-DF v2 video name (Celeb-real/idA_NNNN.mp4, YouTube-real/NNNNN.mp4, "
         "Celeb-synthesis/idA_idB_NNNN.mp4)");
}

inline VideoSplits import_celeb_df(const std::filesystem::path& root_given, double validation_fraction,
                                   std::uint64_t seed) {
    namespace fs = std::filesystem;
    const fs::path root = fs::absolute(root_given).lexically_normal();
    require_folder(root, "--root: the Celeb-DF v2 folder");
    const fs::path list = root / "List_of_testing_videos.txt";
    std::ifstream in(list);
    if (!in) fail(list.string(), ": no such file; Celeb-DF v2 lists its test videos there");
    VideoSplits splits;
    std::set<std::string> tested;
    std::string line;
    for (std::int64_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const std::string where = list.string() + ":" + std::to_string(number);
        std::istringstream fields(line);
        std::string label, relative, extra;
        if (!(fields >> label >> relative) || (fields >> extra) || (label != "0" && label != "1"))
            fail(where, ": expected '1 PATH' (real) or '0 PATH' (fake), found '", line, "'");
        Video video = celeb_df_video(root, relative, where);
        if ((label == "1") != (video.label == "real"))
            fail(where, ": '", relative, "' is labelled ", label == "1" ? "real (1)" : "fake (0)",
                 " but its folder holds ", video.label, " videos");
        require_video_file(video.path, where);
        if (tested.insert(video.path.string()).second) splits.test.push_back(std::move(video));
    }
    for (const char* folder : {"Celeb-real", "YouTube-real", "Celeb-synthesis"}) {
        require_folder(root / folder, std::string("Celeb-DF v2's ") + folder + " videos");
        for (const fs::path& file : video_files(root / folder))
            if (!tested.contains(file.string()))
                splits.train.push_back(celeb_df_video(root, fs::relative(file, root).generic_string(), file.string()));
    }
    hold_out_validation(splits, validation_fraction, seed);
    return splits;
}

} // namespace clipft::data::datasets
