#pragma once
// Which frames of a video to look at: DeepfakeBench's and SBI's protocol takes N evenly spaced
// frames, frame floor(i n / N) of n for i = 0..N-1 (all n frames when n <= N).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <cstdint>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::video {

inline std::vector<std::int64_t> evenly_spaced_frames(std::int64_t frame_count, std::int64_t wanted) {
    if (wanted < 1) fail("evenly_spaced_frames: the number of frames must be >= 1, got ", wanted);
    if (frame_count < 0) fail("evenly_spaced_frames: a video cannot have ", frame_count, " frames");
    std::vector<std::int64_t> frames;
    if (frame_count <= wanted) {
        for (std::int64_t i = 0; i < frame_count; ++i) frames.push_back(i);
        return frames;
    }
    // i < N < n, so i * n stays far below 2^63 for any video.
    for (std::int64_t i = 0; i < wanted; ++i) frames.push_back(i * frame_count / wanted);
    return frames;
}

} // namespace clipft::video
