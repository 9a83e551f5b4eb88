#pragma once
// Frozen image features of a dataset, computed once and kept: the L2-normalised projected image
// embeddings of every image, in the dataset's order, as F.safetensors (`features` [N, D] F32,
// `labels` [N] I64) with F.csv beside it (path, label, subset, video; absolute paths).
//
// Re-runnable: rows are identified by the model's content hash and each image's path, size and
// modification time, so a repeated run reuses every row it finds in F.safetensors or in
// F.partial.safetensors, which an interrupted run left behind: that file is rewritten atomically
// every `save_every_seconds` (and when encoding fails), holding every row encoded so far.
#include <clipft/backends.hpp>
#include <clipft/autocast.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/error.hpp>
#include <clipft/heads/probe_file.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/content_hash.hpp>
#include <clipft/io/csv.hpp>
#include <clipft/io/json.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/progress.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <unordered_map>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

// The content hash of a CLIP checkpoint (io/content_hash.hpp): a model directory's config.json and
// model.safetensors, or a .safetensors file and any config.json beside it (which it may load).
inline std::string model_hash(const std::filesystem::path& model) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    fs::path folder = fs::is_directory(model) ? model : model.parent_path();
    if (fs::exists(folder / "config.json")) files.push_back(folder / "config.json");
    files.push_back(fs::is_directory(model) ? model / "model.safetensors" : model);
    return io::content_hash(files);
}

// What identifies encoded rows: the model's hash, followed by ":bfloat16" when its products ran in
// bfloat16 (embeddings that differ from float32's in their last digits, so never mixed in one file).
inline std::string encoding_identity(const std::string& model_hash, Precision precision) {
    return precision == Precision::bfloat16 ? model_hash + ":bfloat16" : model_hash;
}

// F.safetensors -> F.csv, F.partial.safetensors.
inline std::filesystem::path features_csv_path(const std::filesystem::path& features) {
    return std::filesystem::path(features).replace_extension(".csv");
}
inline std::filesystem::path features_partial_path(const std::filesystem::path& features) {
    return std::filesystem::path(features).replace_extension(".partial.safetensors");
}

// What identifies an image's content for the cache: its absolute path, size and modification time.
inline std::string image_key(const std::filesystem::path& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) fail(path.string(), ": cannot read the image (", std::strerror(errno), ")");
    return path.string() + "\n" + std::to_string(status.st_size) + "\n" + std::to_string(status.st_mtim.tv_sec) + "." +
           std::to_string(status.st_mtim.tv_nsec);
}

// A features file read back: the rows, their labels and samples (from F.csv), and what made them.
struct FeatureSet {
    Tensor<float> features;           // [N, D]
    std::vector<std::int64_t> labels; // [N]
    std::vector<std::string> classes;
    std::string model_hash;
    data::Dataset dataset; // the rows' samples, in row order (from F.csv)

    static FeatureSet load(const std::filesystem::path& path) {
        io::SafetensorsFile file = io::load_safetensors(path);
        const std::string where = path.string();
        for (const char* name : {"features", "labels"})
            if (!file.contains(name))
                fail(where, ": no tensor '", name, "'; is it a features file of clipft features?");
        FeatureSet set;
        set.features = file.get<float>("features").contiguous();
        set.labels = file.get<std::int64_t>("labels").to_vector();
        if (set.features.dim() != 2 || set.features.size(0) != std::int64_t(set.labels.size()))
            fail(where, ": tensor 'features' ", set.features.shape(), " and tensor 'labels' [", set.labels.size(),
                 "] do not match ([N, D] and [N])");
        if (set.labels.empty()) fail(where, ": the features file holds no rows");
        const io::Metadata& metadata = file.metadata();
        set.classes = split_classes(metadata.contains("classes") ? metadata.at("classes") : "");
        if (set.classes.size() < 2) fail(where, ": metadata 'classes' must name at least two classes");
        for (std::size_t i = 0; i < set.labels.size(); ++i)
            if (set.labels[i] < 0 || set.labels[i] >= std::int64_t(set.classes.size()))
                fail(where, ": tensor 'labels': row ", i, " has label ", set.labels[i], ", outside the classes ",
                     join_classes(set.classes));
        if (metadata.contains("model_hash")) set.model_hash = metadata.at("model_hash");
        std::filesystem::path csv = features_csv_path(path);
        if (std::filesystem::exists(csv)) {
            set.dataset = data::Dataset::from_manifest(csv, set.classes);
            if (set.dataset.size() != set.labels.size())
                fail(csv.string(), ": ", set.dataset.size(), " rows, but ", where, " holds ", set.labels.size(),
                     " features");
            for (std::size_t i = 0; i < set.labels.size(); ++i)
                if (set.dataset.samples[i].label != set.labels[i])
                    fail(csv.string(), ": row ", i + 1, " has label ", set.dataset.samples[i].label,
                         ", tensor 'labels' says ", set.labels[i]);
        } else { // without the CSV: one sample per row, each its own video
            set.dataset.classes = set.classes;
            for (std::size_t i = 0; i < set.labels.size(); ++i) {
                data::Sample& sample = set.dataset.samples.emplace_back();
                sample.path = "row-" + std::to_string(i);
                sample.label = set.labels[i];
            }
        }
        return set;
    }
};

struct FeatureCacheOptions {
    std::int64_t batch = 32;
    double save_every_seconds = 60;
    bool progress = true;
};

struct FeatureCacheRun {
    std::int64_t rows = 0, reused = 0, encoded = 0, width = 0;
};

namespace detail {

inline io::Metadata features_metadata(const std::string& hash, const std::vector<std::string>& classes,
                                      const io::Json& images) {
    return {{"format", "clipft-features"},
            {"model_hash", hash},
            {"classes", join_classes(classes)},
            {"images", images.dump()}};
}

// Rows of an earlier run (F.safetensors or F.partial.safetensors) by image key; a file of another
// model, of another width or unreadable is passed over (it is only a cache) with a note.
inline void collect_cached_rows(const std::filesystem::path& path, const std::string& hash, std::int64_t width,
                                std::unordered_map<std::string, std::vector<float>>& rows, bool verbose) {
    if (!std::filesystem::exists(path)) return;
    try {
        io::SafetensorsFile file = io::load_safetensors(path);
        const io::Metadata& metadata = file.metadata();
        if (!metadata.contains("model_hash") || metadata.at("model_hash") != hash || !metadata.contains("images"))
            return;
        Tensor<float> features = file.get<float>("features").contiguous();
        io::Json images = io::parse_json(metadata.at("images"), path.string() + " (metadata 'images')");
        if (features.dim() != 2 || features.size(1) != width || !images.is_array() ||
            std::int64_t(images.size()) != features.size(0))
            return;
        for (std::int64_t r = 0; r < features.size(0); ++r)
            rows[images[std::size_t(r)].get<std::string>()].assign(features.data() + r * width,
                                                                   features.data() + (r + 1) * width);
    } catch (const std::exception& error) {
        if (verbose)
            std::cerr << "clipft: ignoring the unreadable cache " << path.string() << ": " << error.what() << "\n";
    }
}

} // namespace detail

// Encodes every image of `dataset` with `model` (whose content hash is `hash`), reusing the rows of
// earlier runs, and writes `out` (F.safetensors) and F.csv; removes F.partial.safetensors at the end.
inline FeatureCacheRun compute_features(const models::CLIP<float>& model, const std::string& hash,
                                        const data::Dataset& dataset, const std::filesystem::path& out,
                                        const FeatureCacheOptions& options = {}) {
    NoGradGuard no_grad;
    if (dataset.samples.empty()) fail("compute_features: the dataset holds no images");
    if (options.batch < 1) fail("compute_features: the batch size must be at least 1, got ", options.batch);
    const std::int64_t n = std::int64_t(dataset.size()), width = model.config.embed_dim;
    const std::filesystem::path partial = features_partial_path(out);
    std::vector<std::string> keys;
    data::Dataset absolute = dataset;
    for (data::Sample& sample : absolute.samples) {
        sample.path = std::filesystem::absolute(sample.path).lexically_normal();
        keys.push_back(image_key(sample.path));
    }
    std::unordered_map<std::string, std::vector<float>> cached;
    detail::collect_cached_rows(out, hash, width, cached, options.progress);
    detail::collect_cached_rows(partial, hash, width, cached, options.progress);

    FeatureCacheRun run{n, 0, 0, width};
    Tensor<float> features = Tensor<float>::zeros({n, width});
    std::vector<bool> done(std::size_t(n), false);
    std::vector<std::int64_t> pending;
    for (std::int64_t i = 0; i < n; ++i) {
        auto found = cached.find(keys[std::size_t(i)]);
        if (found == cached.end()) {
            pending.push_back(i);
            continue;
        }
        std::copy(found->second.begin(), found->second.end(), features.data() + i * width);
        done[std::size_t(i)] = true;
        ++run.reused;
    }
    cached.clear();

    auto images_of = [&](const std::vector<std::int64_t>& rows) {
        io::Json images = io::Json::array();
        for (std::int64_t row : rows) images.push_back(keys[std::size_t(row)]);
        return images;
    };
    auto save_partial = [&] {
        std::vector<std::int64_t> rows;
        for (std::int64_t i = 0; i < n; ++i)
            if (done[std::size_t(i)]) rows.push_back(i);
        Tensor<float> kept = Tensor<float>::empty({std::int64_t(rows.size()), width});
        for (std::size_t r = 0; r < rows.size(); ++r)
            std::copy_n(features.data() + rows[r] * width, width, kept.data() + std::int64_t(r) * width);
        io::save_safetensors(partial, {{"features", kept}},
                             detail::features_metadata(hash, dataset.classes, images_of(rows)));
    };

    const data::ImageSet images = data::image_set(absolute, {.size = model.config.vision.image_size});
    const Device device = model.device();
    ProgressBar bar("encoding images", n, "img", options.progress, run.reused);
    auto last_save = std::chrono::steady_clock::now();
    try {
        for (std::size_t begin = 0; begin < pending.size(); begin += std::size_t(options.batch)) {
            std::vector<std::int64_t> items(
                pending.begin() + std::ptrdiff_t(begin),
                pending.begin() + std::ptrdiff_t(std::min(pending.size(), begin + std::size_t(options.batch))));
            Tensor<float> embeds =
                ops::l2_normalize(model.encode_image(images.load(items).to(device))).to(Device::cpu()).contiguous();
            for (std::size_t r = 0; r < items.size(); ++r) {
                std::copy_n(embeds.data() + std::int64_t(r) * width, width, features.data() + items[r] * width);
                done[std::size_t(items[r])] = true;
            }
            run.encoded += std::int64_t(items.size());
            bar.update(run.reused + run.encoded);
            if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count() >=
                    options.save_every_seconds &&
                run.encoded < std::int64_t(pending.size())) {
                save_partial();
                last_save = std::chrono::steady_clock::now();
            }
        }
    } catch (...) {
        if (run.encoded > 0) save_partial(); // what was encoded stays for the next run
        throw;
    }
    bar.finish();

    std::vector<std::int64_t> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    std::string csv = "path,label,subset,video\n";
    for (const data::Sample& sample : absolute.samples)
        csv += io::csv_field(sample.path.string()) + "," + std::to_string(sample.label) + "," +
               io::csv_field(sample.subset) + "," + io::csv_field(sample.video) + "\n";
    io::write_file_atomically(features_csv_path(out), [&](io::FileWriter& writer) { writer.write(csv); });
    io::save_safetensors(out,
                         {{"features", features}, {"labels", Tensor<std::int64_t>::from_vector(absolute.labels())}},
                         detail::features_metadata(hash, dataset.classes, images_of(all)));
    std::filesystem::remove(partial);
    return run;
}

} // namespace clipft::heads
