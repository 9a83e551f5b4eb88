#pragma once
// A head on frozen features saved as safetensors, read back by `clipft eval --probe`:
//   linear (method "logistic" or "zero-shot"): probe.weight [K, D] F32, probe.bias [K] F32;
//   knn: knn.features [N, D] F32, knn.labels [N] I64, metadata k.
// Metadata: format "clipft-probe", method, classes (comma-separated, class i is index i), and
// model_hash, the content hash of the CLIP model whose features it was fitted on (io/content_hash.hpp).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/heads/linear_probe.hpp>
#include <clipft/heads/nearest_neighbors.hpp>
#include <clipft/io/safetensors.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

inline std::string join_classes(const std::vector<std::string>& classes) {
    std::string text;
    for (const std::string& name : classes) text += (text.empty() ? "" : ",") + name;
    return text;
}

inline std::vector<std::string> split_classes(const std::string& text) {
    std::vector<std::string> classes;
    std::istringstream names(text);
    for (std::string name; std::getline(names, name, ',');)
        if (!name.empty()) classes.push_back(name);
    return classes;
}

struct Probe {
    std::string method; // logistic, zero-shot or knn
    std::vector<std::string> classes;
    std::optional<LinearProbe> linear;
    std::optional<NearestNeighbors> neighbors;
    io::Metadata metadata; // everything else recorded (C, model_hash, ...)

    // [N, K] class probabilities of features [N, D].
    Tensor<float> probabilities(const Tensor<float>& features) const {
        return linear ? linear->probabilities(features) : neighbors->probabilities(features);
    }
    std::int64_t width() const { return linear ? linear->width() : neighbors->features.size(1); }

    void save(const std::filesystem::path& path) const {
        io::Metadata all = metadata;
        all["format"] = "clipft-probe";
        all["method"] = method;
        all["classes"] = join_classes(classes);
        io::NamedTensors tensors;
        if (linear) {
            linear->check();
            tensors = {{"probe.weight", linear->weight}, {"probe.bias", linear->bias}};
        } else {
            neighbors->check();
            all["k"] = std::to_string(neighbors->k);
            tensors = {{"knn.features", neighbors->features},
                       {"knn.labels", Tensor<std::int64_t>::from_vector(neighbors->labels)}};
        }
        io::save_safetensors(path, tensors, all);
    }

    static bool is_probe_file(const io::SafetensorsFile& file) {
        return file.contains("probe.weight") || file.contains("knn.features");
    }

    static Probe load(const std::filesystem::path& path) {
        io::SafetensorsFile file = io::load_safetensors(path);
        const std::string where = path.string();
        if (!is_probe_file(file))
            fail(where,
                 ": not a probe file (it holds neither probe.weight nor knn.features; make one with clipft probe)");
        Probe probe;
        probe.metadata = file.metadata();
        for (const char* key : {"format", "method", "classes", "k"}) probe.metadata.erase(key);
        const io::Metadata& metadata = file.metadata();
        probe.classes = split_classes(metadata.contains("classes") ? metadata.at("classes") : "");
        probe.method =
            metadata.contains("method") ? metadata.at("method") : (file.contains("probe.weight") ? "logistic" : "knn");
        const std::int64_t classes = std::int64_t(probe.classes.size());
        if (file.contains("probe.weight")) {
            if (!file.contains("probe.bias")) fail(where, ": has probe.weight but no tensor 'probe.bias'");
            probe.linear =
                LinearProbe{file.get<float>("probe.weight").contiguous(), file.get<float>("probe.bias").contiguous()};
            try {
                probe.linear->check();
            } catch (const Error& error) {
                fail(where, ": ", error.what());
            }
            if (classes && classes != probe.linear->classes())
                fail(where, ": metadata 'classes' names ", classes, " classes, tensor 'probe.weight' ",
                     probe.linear->weight.shape(), " has ", probe.linear->classes());
        } else {
            if (!file.contains("knn.labels")) fail(where, ": has knn.features but no tensor 'knn.labels'");
            if (!metadata.contains("k")) fail(where, ": a kNN probe needs the metadata key 'k'");
            NearestNeighbors neighbors{file.get<float>("knn.features").contiguous(),
                                       file.get<std::int64_t>("knn.labels").to_vector(), classes, 0};
            try {
                neighbors.k = std::stoll(metadata.at("k"));
                neighbors.check();
            } catch (const std::exception& error) {
                fail(where, ": ", error.what(), " (metadata k = '", metadata.at("k"), "')");
            }
            probe.neighbors = std::move(neighbors);
        }
        if (probe.classes.size() < 2)
            fail(where, ": metadata 'classes' must name at least two classes, e.g. real,fake");
        for (const float value : probe.linear ? probe.linear->weight.to_vector() : std::vector<float>{})
            if (!std::isfinite(value)) fail(where, ": tensor 'probe.weight' holds a non-finite value");
        return probe;
    }
};

} // namespace clipft::heads
