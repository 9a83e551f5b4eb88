#pragma once
// What the dataset importers (ffpp.hpp, celebdf.hpp, dfdcp.hpp) produce: the videos of a deepfake
// dataset in its own train / val / test splits, written as manifests that `clipft faces --manifest`
// reads. Importers list files and never decode them; every check runs before anything is written.
#include <clipft/backends.hpp>
#include <clipft/data/identity_split.hpp>
#include <clipft/error.hpp>
#include <clipft/io/csv_write.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::data::datasets {

struct Video {
    std::filesystem::path path;          // absolute
    std::string label;                   // "real" or "fake"
    std::string subset;                  // the manipulation; empty for real videos
    std::string video;                   // unique within its subset, e.g. "000_003"
    std::string source;                  // the real video the fake was made from; a real video's own name
    std::vector<std::string> identities; // the people it shows
};

struct VideoSplits {
    std::vector<Video> train, val, test;
    std::vector<Video> dropped; // left out of every split so that no identity is in two (see split.csv)
};

// The manifest columns; `identities` (space-separated) lets later identity-safe splits see them.
inline const std::vector<std::string>& video_manifest_columns() {
    static const std::vector<std::string> columns = {"path", "label", "subset", "video", "source", "identities"};
    return columns;
}

inline std::string joined_identities(const Video& video) {
    std::string text;
    for (const std::string& name : video.identities) text += (text.empty() ? "" : " ") + name;
    return text;
}

// `where` names the file that lists the video (a split file), for the error.
inline void require_video_file(const std::filesystem::path& path, const std::string& where) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        fail(where, ": names the video ", path.string(),
             ", which does not exist; is --root the dataset's folder"
             " (and --compression the one downloaded)?");
}

inline void require_folder(const std::filesystem::path& path, const std::string& what) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) fail(path.string(), ": no such folder (", what, ")");
}

// The regular files under `folder` (recursively) with a video extension, sorted.
inline std::vector<std::filesystem::path> video_files(const std::filesystem::path& folder) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
        std::string extension = entry.path().extension().string();
        for (char& c : extension) c = char(std::tolower((unsigned char)c));
        if (entry.is_regular_file() && (extension == ".mp4" || extension == ".avi" || extension == ".mov" ||
                                        extension == ".mkv" || extension == ".webm"))
            files.push_back(std::filesystem::absolute(entry.path()).lexically_normal());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Moves an identity-safe share of `train` into `val` (data/identity_split.hpp); videos mixing
// both sides' identities go to `dropped`.
inline void hold_out_validation(VideoSplits& splits, double fraction, std::uint64_t seed) {
    std::vector<std::vector<std::string>> identities;
    std::vector<std::int64_t> labels;
    for (const Video& video : splits.train)
        identities.push_back(video.identities), labels.push_back(video.label == "fake");
    std::vector<SplitPart> parts =
        split_by_identity(identities, labels, 2, fraction, seed, "the validation split of the training videos");
    std::vector<Video> train;
    for (std::size_t i = 0; i < parts.size(); ++i)
        (parts[i] == SplitPart::train      ? train
         : parts[i] == SplitPart::held_out ? splits.val
                                           : splits.dropped)
            .push_back(std::move(splits.train[i]));
    splits.train = std::move(train);
}

// The identities found in more than one of train, val and test.
inline std::set<std::string> identities_in_two_splits(const VideoSplits& splits) {
    std::map<std::string, std::set<int>> seen;
    int index = 0;
    for (const auto* split : {&splits.train, &splits.val, &splits.test}) {
        for (const Video& video : *split)
            for (const std::string& name : video.identities) seen[name].insert(index);
        ++index;
    }
    std::set<std::string> shared;
    for (const auto& [name, in] : seen)
        if (in.size() > 1) shared.insert(name);
    return shared;
}

// Drops from train and val every video showing an identity of the test split (for datasets whose
// official test split shares people with training, as Celeb-DF v2's).
inline void drop_test_identities(VideoSplits& splits) {
    std::set<std::string> tested;
    for (const Video& video : splits.test) tested.insert(video.identities.begin(), video.identities.end());
    for (auto* split : {&splits.train, &splits.val}) {
        std::vector<Video> kept;
        for (Video& video : *split) {
            bool shared = std::any_of(video.identities.begin(), video.identities.end(),
                                      [&](const std::string& name) { return tested.contains(name); });
            (shared ? splits.dropped : kept).push_back(std::move(video));
        }
        *split = std::move(kept);
    }
}

// DIR/train.csv, val.csv, test.csv and split.csv (video, subset, label, split: where each video
// went, dropped ones included). Refuses an empty train or test split before writing anything.
inline void write_video_splits(const VideoSplits& splits, const std::filesystem::path& out,
                               const std::string& dataset) {
    if (splits.train.empty()) fail(dataset, ": no training videos found");
    if (splits.test.empty()) fail(dataset, ": no test videos found");
    std::filesystem::create_directories(out);
    std::vector<std::vector<std::string>> records;
    auto write = [&](const std::vector<Video>& videos, const std::string& name) {
        std::vector<std::vector<std::string>> rows;
        for (const Video& video : videos) {
            rows.push_back(
                {video.path.string(), video.label, video.subset, video.video, video.source, joined_identities(video)});
            records.push_back({video.video, video.subset, video.label, name});
        }
        if (name != "dropped") io::write_csv(out / (name + ".csv"), video_manifest_columns(), rows);
    };
    write(splits.train, "train");
    write(splits.val, "val");
    write(splits.test, "test");
    write(splits.dropped, "dropped");
    io::write_csv(out / "split.csv", {"video", "subset", "label", "split"}, records);
}

} // namespace clipft::data::datasets
