// Video decoding on ../shared/data/videos: frame counts, sizes and rates against its manifest (made
// with the ffmpeg program), every-K sampling, errors naming the file, and faces found (or not) in
// the clips that SOURCE.md describes.
#include "fixtures.hpp"

#include <clipft/io/csv.hpp>
#ifdef CLIPFT_WITH_FFMPEG
#include <clipft/video/video_reader.hpp>
#endif
#if defined(CLIPFT_WITH_FFMPEG) && defined(CLIPFT_WITH_DLIB)
#include <clipft/faces/detector.hpp>
#endif

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace clipft;

#ifdef CLIPFT_WITH_FFMPEG

TEST_CASE("every video decodes to the manifest's frame count, size and rate") {
    std::filesystem::path manifest = testing::shared_path("data/videos/manifest.csv");
    if (manifest.empty()) return;
    io::CsvTable table = io::read_csv(manifest);
    REQUIRE(table.rows.size() == 25);
    for (const io::CsvRow& row : table.rows) {
        const std::string file = row.fields[table.column("file")];
        CAPTURE(file);
        video::VideoReader reader(manifest.parent_path() / file);
        const std::int64_t frames = std::stoll(row.fields[table.column("frames")]);
        CHECK(reader.frame_count() == frames);
        CHECK(reader.width() == std::stoll(row.fields[table.column("width")]));
        CHECK(reader.height() == std::stoll(row.fields[table.column("height")]));
        const std::string fps = row.fields[table.column("fps")]; // "30/1"
        CHECK(reader.fps() == doctest::Approx(std::stod(fps.substr(0, fps.find('/')))));
        std::int64_t visited = 0;
        // A step larger than the video: only frame 0 is converted, every frame is decoded.
        CHECK(reader.for_each_frame(1000, [&](std::int64_t index, const image::Image& frame) {
            CHECK(index == 0);
            CHECK(frame.width == reader.width());
            ++visited;
        }) == frames);
        CHECK(visited == 1);
        CHECK(reader.frames_read() == frames);
    }
}

TEST_CASE("for_each_frame visits every K-th frame, the same frames read() returns") {
    std::filesystem::path path =
        testing::shared_path("data/videos/preview_head-pose-face-detection-female.mp4"); // 23 frames
    if (path.empty()) return;
    std::vector<image::Image> all;
    {
        video::VideoReader reader(path);
        image::Image frame;
        while (reader.read(frame)) all.push_back(frame);
        CHECK_FALSE(reader.read(frame)); // stays at the end
    }
    REQUIRE(all.size() == 23);
    CHECK(all[0].channels == 3);
    CHECK(all[0].pixels != all[22].pixels); // the head turns

    video::VideoReader reader(path);
    std::vector<std::int64_t> indices;
    reader.for_each_frame(5, [&](std::int64_t index, const image::Image& frame) {
        indices.push_back(index);
        CHECK(frame.pixels == all[std::size_t(index)].pixels);
    });
    CHECK(indices == std::vector<std::int64_t>{0, 5, 10, 15, 20});
    CHECK_THROWS_WITH_AS(reader.for_each_frame(0, [](std::int64_t, const image::Image&) {}),
                         doctest::Contains("K >= 1"), Error);
}

TEST_CASE("decoded frames have the colours of the scene") {
    // The walking clip's corridor is bright and grey (GIF source, re-encoded): channels close together,
    // neither black nor white overall.
    std::filesystem::path path = testing::shared_path("data/videos/preview_face-demographics-walking.mp4");
    if (path.empty()) return;
    video::VideoReader reader(path);
    image::Image frame;
    REQUIRE(reader.read(frame));
    double sums[3] = {0, 0, 0};
    for (std::size_t i = 0; i < frame.pixels.size(); ++i) sums[i % 3] += frame.pixels[i];
    const double count = double(frame.width * frame.height);
    for (double& sum : sums) sum /= count;
    CAPTURE(sums[0]);
    CAPTURE(sums[1]);
    CAPTURE(sums[2]);
    for (double mean : sums) CHECK((mean > 40 && mean < 220));
    CHECK(std::abs(sums[0] - sums[1]) < 40);
    CHECK(std::abs(sums[1] - sums[2]) < 40);
}

TEST_CASE("videos that cannot be read are errors naming the file") {
    CHECK_THROWS_WITH_AS(video::VideoReader("/nonexistent/clip.mp4"),
                         doctest::Contains("/nonexistent/clip.mp4: cannot read the video: no such file"), Error);
    testing::TemporaryDirectory scratch;
    testing::write_bytes(scratch / "text.mp4", "this is not a video");
    CHECK_THROWS_WITH_AS(video::VideoReader(scratch / "text.mp4"), doctest::Contains("text.mp4: cannot"), Error);
    // A video cut in half: the container's index points past the end.
    std::filesystem::path path = testing::shared_path("data/videos/asl_eat.mp4");
    if (path.empty()) return;
    std::string bytes = testing::read_bytes(path);
    testing::write_bytes(scratch / "cut.mp4", bytes.substr(0, bytes.size() / 2));
    std::int64_t decoded = -1;
    try {
        video::VideoReader reader(scratch / "cut.mp4");
        decoded = reader.for_each_frame(1000, [](std::int64_t, const image::Image&) {});
    } catch (const Error& error) {
        CHECK(std::string(error.what()).find("cut.mp4") != std::string::npos);
    }
    CHECK(decoded < 47); // fewer frames than the whole clip, or an error naming the file
}

#ifdef CLIPFT_WITH_DLIB

namespace {

// The sampled frames of a video with at least one face (upsampled once: the faces are small).
std::pair<std::int64_t, std::int64_t> frames_with_faces(const std::filesystem::path& path, std::int64_t every) {
    faces::FaceDetector detector({.min_size = 20, .upsample = 1, .landmarks = false});
    video::VideoReader reader(path);
    std::int64_t sampled = 0, with_face = 0;
    reader.for_each_frame(every, [&](std::int64_t, const image::Image& frame) {
        ++sampled;
        if (!detector.detect(frame).empty()) ++with_face;
    });
    return {sampled, with_face};
}

} // namespace

TEST_CASE("faces are found in the head-pose clip and in no frame of the walking clip") {
    std::filesystem::path face_clip = testing::shared_path("data/videos/preview_head-pose-face-detection-female.mp4");
    std::filesystem::path no_face_clip = testing::shared_path("data/videos/preview_face-demographics-walking.mp4");
    if (face_clip.empty() || no_face_clip.empty()) return;
    auto [sampled, with_face] = frames_with_faces(face_clip, 4);
    CHECK(sampled == 6);
    CHECK(with_face >= 5);
    auto [walking_sampled, walking_with_face] = frames_with_faces(no_face_clip, 3);
    CHECK(walking_sampled == 12);
    CHECK(walking_with_face == 0);
}

#endif // CLIPFT_WITH_DLIB

#endif // CLIPFT_WITH_FFMPEG
