// clipft faces: the faces of images and videos as crops, landmark files and a manifest CSV; the
// preprocessing of the thesis (dlib's HOG detector, a score threshold, boxes of at least 95 x 95)
// for deepfake data sets, in parallel over files.
#include "options.hpp"

#include <clipft/data/dataset.hpp>
#include <clipft/faces/crop.hpp>
#include <clipft/image/save.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/csv.hpp>
#include <clipft/io/csv_write.hpp>
#include <clipft/io/json.hpp>
#include <clipft/progress.hpp>
#include <clipft/video/frame_sampling.hpp>
#ifdef CLIPFT_WITH_DLIB
#include <clipft/faces/detector.hpp>
#endif
#ifdef CLIPFT_WITH_FFMPEG
#include <clipft/video/video_reader.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace clipft::cli {

namespace {

namespace fs = std::filesystem;

bool is_video_file(const fs::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return extension == ".mp4" || extension == ".avi" || extension == ".mkv" || extension == ".mov" ||
           extension == ".webm";
}

struct Source {
    fs::path path;
    fs::path crops; // under the output folder: a video's folder of crops, an image's crop names without "_faceK.png"
    bool video = false;
    std::string label, subset, video_name, origin, identities; // the manifest columns of its faces
};

// Where the crops of `relative` (a path under an --in folder, or a file name) go, and the video its
// faces belong to: a video's own name, an image's folder.
Source source_of(const fs::path& path, const fs::path& relative, const fs::path& folder, const std::string& label,
                 const std::string& subset) {
    const bool video = is_video_file(path);
    Source source{path, folder / relative.parent_path() / relative.stem(), video, label, subset, {}, {}, {}};
    source.video_name =
        video ? (relative.parent_path() / relative.stem()).generic_string() : relative.parent_path().generic_string();
    if (video) source.origin = source.video_name; // a real video is its own source
    return source;
}

// The images and videos of the --in arguments: folders are searched recursively, files are taken
// as given (a video by its extension, anything else as an image).
std::vector<Source> find_sources(const std::vector<std::string>& inputs, const fs::path& folder,
                                 const std::string& label, const std::string& subset) {
    std::vector<Source> sources;
    for (const std::string& input : inputs) {
        const fs::path path(input);
        std::error_code error;
        if (fs::is_directory(path, error)) {
            std::vector<Source> found;
            for (const auto& entry :
                 fs::recursive_directory_iterator(path, fs::directory_options::follow_directory_symlink |
                                                            fs::directory_options::skip_permission_denied))
                if (entry.is_regular_file() && (data::is_image_file(entry.path()) || is_video_file(entry.path())))
                    found.push_back(source_of(entry.path(), fs::relative(entry.path(), path), folder, label, subset));
            std::sort(found.begin(), found.end(), [](const Source& a, const Source& b) { return a.path < b.path; });
            sources.insert(sources.end(), found.begin(), found.end());
        } else if (fs::exists(path, error)) {
            sources.push_back(source_of(path, path.filename(), folder, label, subset));
        } else {
            throw UsageError("--in " + input + ": no such file or folder");
        }
    }
    return sources;
}

// The videos (or images) of a manifest of `clipft dataset` (path,label[,subset][,video][,source]
// [,identities]), each row's columns kept for its faces. Crops go to DIR/label/subset/video/.
std::vector<Source> manifest_sources(const fs::path& manifest) {
    io::CsvTable table = io::read_csv(manifest);
    const std::size_t path_column = table.column("path"), label_column = table.column("label");
    auto optional = [&](const io::CsvRow& row, const char* name) {
        std::optional<std::size_t> column = table.find_column(name);
        return column ? row.fields[*column] : std::string();
    };
    std::vector<Source> sources;
    for (const io::CsvRow& row : table.rows) {
        fs::path path = row.fields[path_column];
        if (path.is_relative()) path = manifest.parent_path() / path;
        Source source{path,
                      {},
                      is_video_file(path),
                      row.fields[label_column],
                      optional(row, "subset"),
                      optional(row, "video"),
                      optional(row, "source"),
                      optional(row, "identities")};
        if (source.video_name.empty())
            source.video_name = fs::path(row.fields[path_column]).replace_extension().generic_string();
        const fs::path crops = fs::path(source.label) / source.subset / source.video_name;
        for (const auto& part : crops)
            if (part == "..")
                fail(table.where(row), ": label, subset and video name folders under --out; '..' is not allowed");
        if (source.label.empty()) fail(table.where(row), ": empty label");
        source.crops = crops.lexically_normal();
        sources.push_back(std::move(source));
    }
    if (sources.empty()) fail(manifest.string(), ": the manifest lists no videos");
    return sources;
}

// x.jpg and x.png would both write x_face0.png.
void check_distinct_crops(const std::vector<Source>& sources) {
    std::map<fs::path, fs::path> owner;
    for (const Source& source : sources) {
        auto [found, inserted] = owner.emplace(source.crops, source.path);
        if (!inserted)
            throw UsageError(found->second.string() + " and " + source.path.string() +
                             " would write crops of the same name; process them into different --out folders");
    }
}

struct Settings {
    fs::path out;
    faces::CropOptions crop;
    std::int64_t every = 1, max_faces = 0;
    std::int64_t frames_per_video = 0; // 0: every --every-th frame
};

#ifdef CLIPFT_WITH_DLIB

const std::vector<std::string> manifest_columns = {"file",   "frame",  "left",  "top",       "width",
                                                   "height", "score",  "crop",  "landmarks", "path",
                                                   "label",  "subset", "video", "source",    "identities"};

struct FileResult {
    std::vector<std::vector<std::string>> rows; // manifest rows, in manifest_columns' order
    std::vector<fs::path> written;              // files written, removed again if the file fails
    std::int64_t frames = 0;                    // frames searched for faces
    std::string error;
};

std::string format_number(const char* format, double value) {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

// Finds, crops and saves the faces of one image or video frame (frame < 0: an image).
void process_frame(faces::FaceDetector& detector, const image::Image& picture, const Source& source, std::int64_t frame,
                   const Settings& settings, FileResult& result) {
    ++result.frames;
    std::vector<faces::Face> found = detector.detect(picture);
    if (settings.max_faces > 0 && std::int64_t(found.size()) > settings.max_faces) {
        std::stable_sort(found.begin(), found.end(), [](const faces::Face& a, const faces::Face& b) {
            return a.box.width * a.box.height > b.box.width * b.box.height;
        });
        found.resize(std::size_t(settings.max_faces));
    }
    for (std::size_t i = 0; i < found.size(); ++i) {
        const std::string face_name = "face" + std::to_string(i);
        char frame_name[32];
        std::snprintf(frame_name, sizeof frame_name, "frame%06lld_", (long long)frame);
        const fs::path crop_path =
            source.video ? source.crops / (frame_name + face_name + ".png")
                         : source.crops.parent_path() / (source.crops.filename().string() + "_" + face_name + ".png");
        const fs::path landmarks_path = fs::path(crop_path).replace_extension(".landmarks.csv");
        faces::FaceCrop crop = faces::crop_face(picture, found[i], settings.crop);
        fs::create_directories((settings.out / crop_path).parent_path());
        result.written.push_back(settings.out / crop_path);
        image::save_image(settings.out / crop_path, crop.image);
        result.written.push_back(settings.out / landmarks_path);
        io::write_file_atomically(settings.out / landmarks_path, [&](io::FileWriter& writer) {
            writer.write("x,y\n");
            for (const faces::Point& point : crop.landmarks)
                writer.write(format_number("%.2f", point.x) + "," + format_number("%.2f", point.y) + "\n");
        });
        const faces::Box& box = found[i].box;
        result.rows.push_back({source.path.string(), frame < 0 ? "" : std::to_string(frame), std::to_string(box.left),
                               std::to_string(box.top), std::to_string(box.width), std::to_string(box.height),
                               format_number("%.4f", found[i].score), crop_path.generic_string(),
                               landmarks_path.generic_string(), crop_path.generic_string(), source.label, source.subset,
                               source.video_name, source.origin, source.identities});
    }
}

FileResult process_source(faces::FaceDetector& detector, const Source& source, const Settings& settings) {
    FileResult result;
    try {
        if (source.video) {
#ifdef CLIPFT_WITH_FFMPEG
            video::VideoReader reader(source.path);
            auto visit = [&](std::int64_t index, const image::Image& frame) {
                process_frame(detector, frame, source, index, settings, result);
            };
            if (settings.frames_per_video > 0) {
                const std::int64_t count = reader.frame_count();
                if (count <= 0)
                    fail(source.path.string(),
                         ": the video does not say how many frames it has; use --every instead of --frames-per-video");
                const std::vector<std::int64_t> frames = video::evenly_spaced_frames(count, settings.frames_per_video);
                reader.for_each_frame_where(
                    [&](std::int64_t index) { return std::binary_search(frames.begin(), frames.end(), index); }, visit);
            } else {
                reader.for_each_frame(settings.every, visit);
            }
#endif
        } else {
            process_frame(detector, image::load_image(source.path), source, -1, settings, result);
        }
    } catch (const std::exception& error) {
        // Nothing of a file that failed stays behind: its manifest rows are dropped, so its crops go too.
        for (const fs::path& path : result.written) {
            std::error_code ignored;
            fs::remove(path, ignored);
        }
        result.rows.clear();
        result.error = error.what();
        if (result.error.find(source.path.string()) == std::string::npos)
            result.error = source.path.string() + ": " + result.error;
    }
    return result;
}

#endif // CLIPFT_WITH_DLIB

// A folder name given on the command line (--label, --subset): one plain path component.
std::string folder_name(const Options& options, const std::string& name) {
    std::string value = options.text(name);
    if (!value.empty() && (value == "." || value == ".." || value.find_first_of("/\\") != std::string::npos))
        throw UsageError("--" + name + " '" + value + "' names a folder under --out; give a plain name without '/'");
    return value;
}

} // namespace

int faces(const Options& options) {
    if (options.list("in").empty() == !options.given("manifest")) throw UsageError("give either --in or --manifest");
    if (options.given("manifest") && (options.given("label") || options.given("subset")))
        throw UsageError("--label and --subset come from the --manifest's columns; leave them out");
    if (options.given("frames-per-video") && options.given("every"))
        throw UsageError("give --every or --frames-per-video, not both");
    Settings settings;
    settings.out = options.text("out");
    const std::string label = folder_name(options, "label"), subset = folder_name(options, "subset");
    fs::path folder;
    if (!label.empty()) folder /= label;
    if (!subset.empty()) folder /= subset;
    settings.frames_per_video = options.integer("frames-per-video");
    if (settings.frames_per_video < 0)
        throw UsageError("--frames-per-video expects a count >= 1, got " + options.text("frames-per-video"));
    settings.crop.margin = options.number("margin");
    settings.crop.align = options.flag("align");
    settings.every = options.integer("every");
    settings.max_faces = options.integer("max-faces");
    const long min_size = options.integer("min-size"), upsample = options.integer("upsample");
    const double threshold = options.number("threshold");
    if (!(settings.crop.margin >= 0))
        throw UsageError("--margin expects a fraction >= 0 of the box, got " + options.text("margin"));
    if (settings.every < 1) throw UsageError("--every expects a frame step >= 1, got " + options.text("every"));
    if (settings.max_faces < 0)
        throw UsageError("--max-faces expects a count >= 0 (0: all), got " + options.text("max-faces"));
    if (min_size < 1) throw UsageError("--min-size expects a number of pixels >= 1, got " + options.text("min-size"));
    if (upsample < 0 || upsample > 4)
        throw UsageError("--upsample expects 0 to 4 doublings, got " + options.text("upsample"));
    long threads =
        options.given("threads") ? options.integer("threads") : long(std::max(1u, std::thread::hardware_concurrency()));
    if (threads < 1) throw UsageError("--threads expects a count >= 1, got " + options.text("threads"));
    std::vector<Source> sources = options.given("manifest") ? manifest_sources(options.text("manifest"))
                                                            : find_sources(options.list("in"), folder, label, subset);
    check_distinct_crops(sources);

#ifndef CLIPFT_WITH_DLIB
    (void)min_size, (void)upsample, (void)threshold, (void)sources;
    fail("this clipft was built without dlib, which finds the faces: install libdlib-dev and libdlib-data "
         "(Debian; scripts/install-deps.sh does) and build clipft again");
#else
    std::vector<std::string> warnings;
#ifndef CLIPFT_WITH_FFMPEG
    const auto videos_end =
        std::stable_partition(sources.begin(), sources.end(), [](const Source& source) { return !source.video; });
    const std::int64_t unsupported = sources.end() - videos_end;
    if (unsupported > 0) {
        const std::string videos =
            videos_end->path.string() + (unsupported > 1 ? " and " + std::to_string(unsupported - 1) + " more" : "");
        const std::string reason =
            "videos are unsupported: this clipft was built without FFmpeg's libraries (Debian: "
            "libavformat-dev libavcodec-dev libswscale-dev libavutil-dev; then build clipft again)";
        if (videos_end == sources.begin()) fail("cannot search ", videos, ": ", reason);
        warnings.push_back("skipped " + videos + ": " + reason);
        sources.erase(videos_end, sources.end());
    }
#else
    av_log_set_level(AV_LOG_FATAL); // decoding errors come back as messages naming the file
#endif
    if (sources.empty())
        fail("no image (.jpg, .jpeg, .png, .bmp) or video (.mp4, .avi, .mkv, .mov, .webm) found in --in");

    faces::DetectorOptions detector_options{.threshold = threshold, .min_size = min_size, .upsample = int(upsample)};
    if (options.given("landmarks-model")) detector_options.landmarks_model = options.text("landmarks-model");
    const faces::FaceDetector prototype(detector_options);
    fs::create_directories(settings.out);
    const fs::path manifest_path = settings.out / "manifest.csv";
    // A manifest from an earlier run keeps the rows of the files this run does not redo, so that
    // runs over several folders (real videos, each manipulation) build one manifest.
    std::vector<std::vector<std::string>> rows;
    if (fs::exists(manifest_path)) {
        io::CsvTable earlier = io::read_csv(manifest_path);
        if (earlier.header != manifest_columns)
            fail(manifest_path.string(),
                 ": not a manifest of this clipft faces (other columns; an older one called the first "
                 "column 'source'); choose another --out folder");
        std::set<std::string> redone;
        for (const Source& source : sources) redone.insert(source.path.string());
        for (io::CsvRow& row : earlier.rows)
            if (!redone.contains(row.fields[0])) rows.push_back(std::move(row.fields));
    }

    std::vector<FileResult> results(sources.size());
    std::atomic<std::size_t> next{0};
    std::mutex progress_mutex;
    std::int64_t files_done = 0, faces_found = 0;
    ProgressBar progress("faces", std::int64_t(sources.size()), "file", !options.flag("quiet"));
    auto work = [&] {
        faces::FaceDetector detector = prototype; // dlib's detector is not thread-safe: one each
        for (std::size_t i; (i = next++) < sources.size();) {
            results[i] = process_source(detector, sources[i], settings);
            std::lock_guard lock(progress_mutex);
            faces_found += std::int64_t(results[i].rows.size());
            progress.update(++files_done, std::to_string(faces_found) + " faces");
        }
    };
    std::vector<std::thread> workers;
    for (long t = 0; t < std::min<long>(threads, long(sources.size())); ++t) workers.emplace_back(work);
    for (std::thread& worker : workers) worker.join();
    progress.finish();

    std::int64_t skipped = 0, frames = 0, images = 0, videos = 0;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (!results[i].error.empty()) {
            ++skipped;
            warnings.push_back("skipped " + results[i].error);
            continue;
        }
        (sources[i].video ? videos : images) += 1;
        frames += results[i].frames;
        for (std::vector<std::string>& row : results[i].rows) rows.push_back(std::move(row));
    }
    if (skipped > 0 && skipped < std::int64_t(sources.size()))
        warnings.push_back(std::to_string(skipped) + " of " + std::to_string(sources.size()) +
                           " files could not be read and were skipped");
    for (const std::string& warning : warnings) std::cerr << "clipft faces: " << warning << "\n";
    if (skipped == std::int64_t(sources.size()))
        fail("none of the ", sources.size(), " files could be read (see the lines above)");

    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a[7] < b[7]; }); // by crop path
    io::write_csv(manifest_path, manifest_columns, rows);
    nlohmann::ordered_json summary = {{"images", images},   {"videos", videos},
                                      {"frames", frames},   {"faces", faces_found},
                                      {"skipped", skipped}, {"manifest", manifest_path.string()},
                                      {"rows", rows.size()}};
    std::cout << summary.dump() << "\n";
    return 0;
#endif
}

} // namespace clipft::cli
