// DeepfakeBench's video protocol: N evenly spaced frames of a video, and a video's score as the
// mean over its frames of each frame's highest face score (eval/video_score.hpp, eval/report.hpp).
#include "assertions.hpp"

#include <clipft/eval/report.hpp>
#include <clipft/video/frame_sampling.hpp>

using namespace clipft;

TEST_CASE("evenly_spaced_frames: frame floor(i n / N), all frames of a short video") {
    CHECK(video::evenly_spaced_frames(100, 8) == std::vector<std::int64_t>{0, 12, 25, 37, 50, 62, 75, 87});
    CHECK(video::evenly_spaced_frames(23, 8) == std::vector<std::int64_t>{0, 2, 5, 8, 11, 14, 17, 20});
    CHECK(video::evenly_spaced_frames(5, 8) == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    CHECK(video::evenly_spaced_frames(0, 8).empty());
    CHECK(testing::error_message([] { video::evenly_spaced_frames(10, 0); }).find(">= 1") != std::string::npos);
}

TEST_CASE("max-face-mean: a frame scores its highest face, a video the mean over its frames") {
    // Video a (real): frame 0 faces 0.1, 0.5; frame 1 face 0.3 -> (0.5 + 0.3) / 2 = 0.4, while the mean over faces is
    // 0.3. Video b (fake): frame 0 faces 0.2, 0.9; frame 3 faces 0.35, 0.1 -> (0.9 + 0.35) / 2 = 0.625 (face mean
    // 0.3875). Video c (real): one face 0.45 -> 0.45. Video d (fake): faces 0.42, 0.38 in frame 2 -> 0.42 (face mean
    // 0.40).
    eval::ScoredSet set{{0, 0, 0, 1, 1, 1, 1, 0, 1, 1},
                        {0.1, 0.5, 0.3, 0.2, 0.9, 0.35, 0.1, 0.45, 0.42, 0.38},
                        {},
                        {"a", "a", "a", "b", "b", "b", "b", "c", "d", "d"},
                        {"0", "0", "1", "0", "0", "3", "3", "0", "2", "2"}};
    eval::FrameScores frames = eval::frame_max_scores(set.labels, set.scores, set.videos, set.frames);
    CHECK(frames.scores == std::vector<double>{0.5, 0.3, 0.9, 0.35, 0.45, 0.42});
    CHECK(frames.videos == std::vector<std::string>{"a", "a", "b", "b", "c", "d"});
    set.video_score = eval::VideoScore::max_face_mean;
    eval::MetricsReport report = eval::metrics_report(set);
    // Videos: real a 0.4, c 0.45; fake b 0.625, d 0.42. Pairs (fake > real): b>a, b>c, d>a, d<c: AUC 3/4.
    CHECK(report.videos->roc_auc == doctest::Approx(0.75));
    CHECK(report.json["video_score"] == "max-face-mean");
    // By the mean over faces: a 0.3, c 0.45; b 0.3875, d 0.40: b>a, b<c, d>a, d<c: AUC 2/4.
    set.video_score = eval::VideoScore::mean;
    CHECK(eval::metrics_report(set).videos->roc_auc == doctest::Approx(0.5));
    CHECK(testing::error_message([] { eval::parse_video_score("max"); }).find("mean or max-face-mean") !=
          std::string::npos);
    std::vector<int> mixed = {0, 1};
    CHECK(testing::error_message([&] {
              eval::frame_max_scores(mixed, {0.1, 0.2}, {"a", "a"}, {"0", "0"});
          }).find("frame 0 of video 'a' holds faces labelled 0 and 1") != std::string::npos);
}
