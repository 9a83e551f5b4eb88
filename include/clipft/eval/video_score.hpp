#pragma once
// How a video is scored from the scores of its face crops. mean: the mean over all its crops.
// max-face-mean (DeepfakeBench's and SBI's protocol): a frame scores the highest of its faces, the
// video the mean over its frames, so that a frame with several faces counts once.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::eval {

enum class VideoScore { mean, max_face_mean };

inline VideoScore parse_video_score(const std::string& text) {
    if (text == "mean") return VideoScore::mean;
    if (text == "max-face-mean") return VideoScore::max_face_mean;
    fail("video score '", text, "' is unknown; use mean or max-face-mean");
}

inline const char* video_score_name(VideoScore rule) { return rule == VideoScore::mean ? "mean" : "max-face-mean"; }

// The rows of one frame each: the highest score among the rows of the same video and frame (in the
// order of the frames' first rows). A row with an empty frame is a frame of its own.
struct FrameScores {
    std::vector<int> labels;
    std::vector<double> scores;
    std::vector<std::string> videos;
};

inline FrameScores frame_max_scores(const std::vector<int>& labels, const std::vector<double>& scores,
                                    const std::vector<std::string>& videos, const std::vector<std::string>& frames) {
    if (labels.size() != scores.size() || videos.size() != labels.size() || frames.size() != labels.size())
        fail("frame_max_scores: ", labels.size(), " labels, ", scores.size(), " scores, ", videos.size(),
             " videos and ", frames.size(), " frames; give one of each per row");
    FrameScores result;
    std::map<std::pair<std::string, std::string>, std::size_t> index_of;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (frames[i].empty()) {
            result.labels.push_back(labels[i]), result.scores.push_back(scores[i]), result.videos.push_back(videos[i]);
            continue;
        }
        auto [found, added] = index_of.try_emplace({videos[i], frames[i]}, result.labels.size());
        if (added) {
            result.labels.push_back(labels[i]), result.scores.push_back(scores[i]), result.videos.push_back(videos[i]);
            continue;
        }
        const std::size_t frame = found->second;
        if (result.labels[frame] != labels[i])
            fail("frame ", frames[i], " of video '", videos[i], "' holds faces labelled ", result.labels[frame],
                 " and ", labels[i], "; the faces of one frame share its label");
        result.scores[frame] = std::max(result.scores[frame], scores[i]);
    }
    return result;
}

} // namespace clipft::eval
