#pragma once
// Labelled image datasets: a folder per class or a manifest CSV, with the operations the thesis'
// experiments need: balanced selection per subset (e.g. 2,500 images of each manipulation), splits
// by video (no identity in both halves), and keeping or leaving out subsets.
//
// Folder layout: root/<class>/[<subset>/][<video>/...]<image>. An image directly in the class folder
// has no subset; one level below, the folder names its subset (e.g. the manipulation); deeper
// folders name the video (subset/folder/...). Images are .jpg, .jpeg, .png or .bmp (any case).
// Manifest: a CSV with a header holding `path` and `label` and optionally `subset`, `video`,
// `source` (the real video a fake was made from, e.g. FF++'s original a of the fake a_b; a real
// video is its own), `identities` (the people the video shows, separated by spaces: "000 003")
// `frame` (the video frame of a face crop) and `landmarks` (its landmarks file); relative paths are relative to the
// manifest's folder; a label is a class name or index.
#include <clipft/backends.hpp>
#include <clipft/io/csv.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::data {

struct Sample {
    std::filesystem::path path;
    std::int64_t label = 0;
    std::string subset, video;             // empty when unknown
    std::string source, identities, frame; // empty when unknown (see the manifest columns above)
    std::filesystem::path landmarks;       // a `clipft faces` crop's landmarks file; empty when unknown
};

inline bool is_image_file(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return extension == ".jpg" || extension == ".jpeg" || extension == ".png" || extension == ".bmp";
}

// Where an image's class comes from: its label (the class folder, the manifest's label column) or
// its subset (each manipulation a class of its own; an image of no subset, e.g. a real one, keeps
// its label's class).
enum class ClassFrom { label, subset };

inline ClassFrom parse_class_from(const std::string& text) {
    if (text == "label") return ClassFrom::label;
    if (text == "subset") return ClassFrom::subset;
    fail("class source '", text,
         "' is unknown; use label (class folders or the label column) or subset (each subset a class)");
}

struct Dataset {
    std::vector<std::string> classes;
    std::vector<Sample> samples;

    // `class_order` fixes the class indices (e.g. {"real", "fake"}: real = 0); without it the
    // class folders in sorted order.
    static Dataset from_folder(const std::filesystem::path& root, std::vector<std::string> class_order = {},
                               bool every_class = true) {
        namespace fs = std::filesystem;
        if (!fs::is_directory(root))
            fail(root.string(), ": not a folder (a dataset folder holds one sub-folder per class)");
        if (class_order.empty()) {
            for (const auto& entry : fs::directory_iterator(root))
                if (entry.is_directory()) class_order.push_back(entry.path().filename().string());
            std::sort(class_order.begin(), class_order.end());
        }
        Dataset dataset{class_order, {}};
        for (std::size_t c = 0; c < class_order.size(); ++c) {
            fs::path folder = root / class_order[c];
            if (!fs::is_directory(folder) && !every_class) continue;
            if (!fs::is_directory(folder))
                fail(root.string(), ": no folder '", class_order[c], "' for class ", c,
                     " (classes: ", join(class_order), ")");
            std::vector<fs::path> files;
            for (const auto& entry : fs::recursive_directory_iterator(folder))
                if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const fs::path& file : files) {
                std::vector<std::string> folders;
                for (const auto& part : fs::relative(file.parent_path(), folder))
                    if (part != ".") folders.push_back(part.string());
                Sample sample;
                sample.path = file, sample.label = std::int64_t(c),
                sample.subset = folders.empty() ? "" : folders.front();
                for (std::size_t i = 1; i < folders.size(); ++i) sample.video += (i > 1 ? "/" : "") + folders[i];
                if (!sample.video.empty()) sample.video = sample.subset + "/" + sample.video;
                dataset.samples.push_back(std::move(sample));
            }
        }
        dataset.check_not_empty(root.string(), every_class);
        return dataset;
    }

    // `every_class`: refuse a class without images (false: real faces alone, for self-blending).
    static Dataset from_manifest(const std::filesystem::path& manifest, std::vector<std::string> class_order = {},
                                 bool every_class = true) {
        io::CsvTable table = io::read_csv(manifest);
        std::size_t path_column = table.column("path"), label_column = table.column("label");
        std::optional<std::size_t> subset_column = table.find_column("subset"),
                                   video_column = table.find_column("video"),
                                   source_column = table.find_column("source"),
                                   identities_column = table.find_column("identities"),
                                   frame_column = table.find_column("frame"),
                                   landmarks_column = table.find_column("landmarks");
        std::vector<std::string> labels;
        for (const io::CsvRow& row : table.rows) labels.push_back(row.fields[label_column]);
        bool numeric = std::all_of(labels.begin(), labels.end(), [](const std::string& label) {
            return !label.empty() && label.find_first_not_of("0123456789") == std::string::npos;
        });
        if (class_order.empty()) {
            std::set<std::string> names(labels.begin(), labels.end());
            if (numeric) {
                // Every class needs an image, so indices beyond the row count are errors (and never
                // make a huge class list).
                std::uint64_t largest = 0;
                for (std::size_t r = 0; r < table.rows.size(); ++r) {
                    std::uint64_t index = class_index(labels[r]);
                    if (index >= table.rows.size())
                        fail(table.where(table.rows[r]), ": label ", labels[r], " is not a class index: with ",
                             table.rows.size(), " rows the classes are 0..", table.rows.size() - 1,
                             " (every class needs an image)");
                    largest = std::max(largest, index);
                }
                for (std::uint64_t c = 0; c <= largest && !table.rows.empty(); ++c)
                    class_order.push_back(std::to_string(c));
            } else {
                class_order.assign(names.begin(), names.end());
            }
        }
        Dataset dataset{class_order, {}};
        for (std::size_t r = 0; r < table.rows.size(); ++r) {
            const io::CsvRow& row = table.rows[r];
            Sample sample;
            sample.path = row.fields[path_column];
            if (sample.path.is_relative()) sample.path = manifest.parent_path() / sample.path;
            sample.label = dataset.label_of(labels[r], numeric, table.where(row));
            if (subset_column) sample.subset = row.fields[*subset_column];
            if (video_column) sample.video = row.fields[*video_column];
            if (source_column) sample.source = row.fields[*source_column];
            if (identities_column) sample.identities = row.fields[*identities_column];
            if (frame_column) sample.frame = row.fields[*frame_column];
            if (landmarks_column && !row.fields[*landmarks_column].empty()) {
                sample.landmarks = row.fields[*landmarks_column];
                if (sample.landmarks.is_relative()) sample.landmarks = manifest.parent_path() / sample.landmarks;
            }
            dataset.samples.push_back(std::move(sample));
        }
        dataset.check_not_empty(manifest.string(), every_class);
        return dataset;
    }

    // A folder or a .csv manifest.
    static Dataset open(const std::filesystem::path& path, std::vector<std::string> class_order = {},
                        bool every_class = true) {
        if (!std::filesystem::exists(path)) fail(path.string(), ": no such dataset folder or manifest");
        return std::filesystem::is_directory(path) ? from_folder(path, std::move(class_order), every_class)
                                                   : from_manifest(path, std::move(class_order), every_class);
    }

    // A folder or a manifest with each image's class taken from its label or its subset (see
    // with_subsets_as_classes).
    static Dataset open(const std::filesystem::path& path, const std::vector<std::string>& class_order,
                        ClassFrom class_from) {
        if (class_from == ClassFrom::label) return open(path, class_order);
        try {
            return open(path).with_subsets_as_classes(class_order);
        } catch (const Error& error) {
            fail(path.string(), ": ", error.what());
        }
    }

    // The same images, each of class its subset (an image of no subset keeps its class's name), e.g.
    // real/, fake/FaceSwap/ and fake/SelfBlended/ become the classes real, FaceSwap and SelfBlended.
    // `class_order` fixes the classes and their order; without it, the classes of images without a
    // subset in their order, then the subsets sorted. Every class needs an image, and every image's
    // class must be one of `class_order`.
    Dataset with_subsets_as_classes(std::vector<std::string> class_order = {}) const {
        auto class_of = [&](const Sample& sample) {
            return sample.subset.empty() ? classes.at(std::size_t(sample.label)) : sample.subset;
        };
        std::set<std::string> found;
        for (const Sample& sample : samples) found.insert(class_of(sample));
        if (class_order.empty()) {
            for (const std::string& name : classes)
                if (std::any_of(samples.begin(), samples.end(), [&](const Sample& s) {
                        return s.subset.empty() && classes[std::size_t(s.label)] == name;
                    }))
                    class_order.push_back(name);
            std::set<std::string> subsets;
            for (const Sample& sample : samples)
                if (!sample.subset.empty()) subsets.insert(sample.subset);
            for (const std::string& subset : subsets)
                if (std::find(class_order.begin(), class_order.end(), subset) == class_order.end())
                    class_order.push_back(subset);
        }
        std::vector<std::string> found_names(found.begin(), found.end());
        for (std::size_t c = 0; c < class_order.size(); ++c) {
            if (std::find(class_order.begin(), class_order.begin() + std::ptrdiff_t(c), class_order[c]) !=
                class_order.begin() + std::ptrdiff_t(c))
                fail("class '", class_order[c], "' is named twice; name each class once");
            if (!found.contains(class_order[c]))
                fail("class '", class_order[c],
                     "' has no images: no subset and no class of images without a subset has that name ",
                     "(the classes by subset are ", join(found_names), ")");
        }
        Dataset result{class_order, {}};
        for (const Sample& sample : samples) {
            const std::string name = class_of(sample);
            auto position = std::find(class_order.begin(), class_order.end(), name);
            if (position == class_order.end())
                fail(sample.path.string(), ": its class by subset, '", name, "', is not among the classes asked for (",
                     join(class_order), "); name every class (the classes by subset are ", join(found_names), ")");
            Sample moved = sample;
            moved.label = position - class_order.begin();
            result.samples.push_back(std::move(moved));
        }
        return result;
    }

    std::size_t size() const { return samples.size(); }
    std::vector<std::int64_t> labels() const {
        std::vector<std::int64_t> result;
        for (const Sample& sample : samples) result.push_back(sample.label);
        return result;
    }
    std::vector<std::filesystem::path> paths() const {
        std::vector<std::filesystem::path> result;
        for (const Sample& sample : samples) result.push_back(sample.path);
        return result;
    }
    std::vector<std::int64_t> count_per_class() const {
        std::vector<std::int64_t> counts(classes.size(), 0);
        for (const Sample& sample : samples) ++counts[std::size_t(sample.label)];
        return counts;
    }

    template <typename Keep> Dataset filter(Keep keep) const {
        Dataset result{classes, {}};
        for (const Sample& sample : samples)
            if (keep(sample)) result.samples.push_back(sample);
        return result;
    }
    // Leave-one-subset-out training keeps every subset but `subset`; its test keeps only it (and the
    // samples of no subset, e.g. the real images).
    Dataset without_subset(const std::string& subset) const {
        return filter([&](const Sample& sample) { return sample.subset != subset; });
    }
    Dataset only_subset(const std::string& subset) const {
        return filter([&](const Sample& sample) { return sample.subset == subset || sample.subset.empty(); });
    }

    // At most `per_class` samples of each class, drawn at random (seeded), shared equally among the
    // class's subsets (10,000 fakes of four manipulations: 2,500 each). A subset with fewer samples
    // than its share gives all it has.
    Dataset balanced(std::int64_t per_class, std::uint64_t seed) const {
        if (per_class < 1) fail("Dataset::balanced: per_class must be >= 1, got ", per_class);
        Generator generator(seed);
        Dataset result{classes, {}};
        for (std::int64_t c = 0; c < std::int64_t(classes.size()); ++c) {
            std::map<std::string, std::vector<std::size_t>> by_subset;
            for (std::size_t i = 0; i < samples.size(); ++i)
                if (samples[i].label == c) by_subset[samples[i].subset].push_back(i);
            if (by_subset.empty()) continue;
            std::int64_t share = per_class / std::int64_t(by_subset.size());
            for (auto& [subset, indices] : by_subset) {
                shuffle(indices, generator);
                indices.resize(std::min(indices.size(), std::size_t(share)));
                std::sort(indices.begin(), indices.end());
                for (std::size_t i : indices) result.samples.push_back(samples[i]);
            }
        }
        return result;
    }

    // Train and held-out parts with whole videos on one side (a sample without a video is its own
    // group). Stratified by class: about `held_out_fraction` of each class's groups, at least one, are
    // held out, drawn at random (seeded), so both parts hold every class.
    std::pair<Dataset, Dataset> split_by_video(double held_out_fraction, std::uint64_t seed) const {
        if (!(held_out_fraction > 0 && held_out_fraction < 1))
            fail("Dataset::split_by_video: the held-out fraction must be in (0, 1), got ", held_out_fraction);
        std::vector<std::vector<std::string>> groups_of_class(classes.size());
        std::map<std::string, bool> held_out;
        for (const Sample& sample : samples) {
            std::string group = group_of(sample);
            if (held_out.emplace(group, false).second) groups_of_class[std::size_t(sample.label)].push_back(group);
        }
        Generator generator(seed);
        for (std::size_t c = 0; c < classes.size(); ++c) {
            std::vector<std::string>& groups = groups_of_class[c];
            if (groups.size() < 2)
                fail("Dataset::split_by_video: class '", classes[c], "' has ", groups.size(),
                     " video(s); both parts need one, so add data or give a validation set");
            shuffle(groups, generator);
            std::size_t count = std::clamp<std::size_t>(
                std::size_t(std::llround(held_out_fraction * double(groups.size()))), 1, groups.size() - 1);
            for (std::size_t i = 0; i < count; ++i) held_out[groups[i]] = true;
        }
        return {filter([&](const Sample& sample) { return !held_out.at(group_of(sample)); }),
                filter([&](const Sample& sample) { return held_out.at(group_of(sample)); })};
    }

private:
    static std::string group_of(const Sample& sample) {
        return sample.video.empty() ? "file:" + sample.path.string() : "video:" + sample.subset + "|" + sample.video;
    }

    static std::string join(const std::vector<std::string>& names) {
        std::string text;
        for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
        return text;
    }

    // A label of digits as a number; too many digits give UINT64_MAX, which is no class.
    static std::uint64_t class_index(const std::string& label) {
        std::uint64_t index = 0;
        auto [end, error] = std::from_chars(label.data(), label.data() + label.size(), index);
        return error == std::errc() ? index : UINT64_MAX;
    }

    std::int64_t label_of(const std::string& label, bool numeric, const std::string& where) const {
        if (numeric) {
            std::uint64_t index = class_index(label);
            if (index < classes.size()) return std::int64_t(index);
            fail(where, ": label ", label, " is not a class index (", classes.size(), " classes: ", join(classes), ")");
        }
        auto found = std::find(classes.begin(), classes.end(), label);
        if (found == classes.end()) fail(where, ": label '", label, "' is not a class (classes: ", join(classes), ")");
        return found - classes.begin();
    }

    void check_not_empty(const std::string& source, bool every_class) const {
        if (samples.empty()) fail(source, ": the dataset holds no images (.jpg, .jpeg, .png, .bmp)");
        std::vector<std::int64_t> counts = count_per_class();
        for (std::size_t c = 0; c < classes.size() && every_class; ++c)
            if (counts[c] == 0) fail(source, ": class '", classes[c], "' has no images");
    }
};

} // namespace clipft::data
