#pragma once
// Weight-space interpolation (WiSE-FT, Wortsman et al. 2022): theta = (1 - alpha) theta_from +
// alpha theta_to for every floating tensor, computed in double and written in `to`'s layout and
// dtypes; non-floating tensors must be equal. Works on CLIP checkpoints, whose two files may come in
// different layouts (OpenAI names or HuggingFace CLIPModel names, a file or a model folder) and
// dtypes, and on linear probe files (heads/probe_file.hpp). Everything is checked before anything is
// written: configs, names, shapes, kinds of tensor, each failure naming the tensor. alpha = 0 gives
// `from`'s values exactly and alpha = 1 `to`'s (bit for bit where the dtypes agree).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/heads/probe_file.hpp>
#include <clipft/io/json.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/models/checkpoint_names.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::heads {

// "0:1:0.1" (first:last:step) or "0,0.25,1" or "0,0.1,...,1" (an arithmetic progression from its
// first two values to the last); each value rounded to 9 decimals, so that 0.1 * 3 reads 0.3.
inline std::vector<double> parse_alphas(const std::string& text) {
    auto number = [&](const std::string& part) {
        std::size_t used = 0;
        double value = 0;
        try {
            value = std::stod(part, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (part.empty() || used != part.size() || !std::isfinite(value))
            fail("alpha list '", text, "': '", part, "' is not a number (write 0:1:0.1, 0,0.5,1 or 0,0.1,...,1)");
        return value;
    };
    auto rounded = [](double value) { return std::round(value * 1e9) / 1e9; };
    auto progression = [&](double first, double last, double step) {
        if (!(step > 0) || last < first)
            fail("alpha list '", text, "': the step must be positive and the last value at least the first");
        std::vector<double> values;
        for (std::int64_t i = 0; first + double(i) * step <= last + 1e-9; ++i) {
            values.push_back(rounded(first + double(i) * step));
            if (values.size() > 100000) fail("alpha list '", text, "': more than 100000 values");
        }
        return values;
    };
    std::vector<std::string> parts;
    char separator = text.find(':') != std::string::npos ? ':' : ',';
    std::size_t start = 0;
    for (std::size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + 1)
        parts.push_back(text.substr(start, at - start));
    parts.push_back(text.substr(start));
    if (separator == ':') {
        if (parts.size() != 3) fail("alpha range '", text, "': expected first:last:step, e.g. 0:1:0.1");
        return progression(number(parts[0]), number(parts[1]), number(parts[2]));
    }
    auto dots = std::find(parts.begin(), parts.end(), "...");
    if (dots != parts.end()) {
        if (parts.size() != 4 || dots != parts.begin() + 2)
            fail("alpha list '", text, "': write '...' as first,second,...,last, e.g. 0,0.1,...,1");
        double first = number(parts[0]);
        return progression(first, number(parts[3]), number(parts[1]) - first);
    }
    std::vector<double> values;
    for (const std::string& part : parts) values.push_back(rounded(number(part)));
    return values;
}

// The shortest text of alpha ("0", "0.1", "1"), as in file names alpha-<a>.safetensors.
inline std::string alpha_text(double alpha) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", alpha);
    return text;
}

// Two weight files aligned tensor by tensor in `to`'s names: what interpolate() combines.
class WeightInterpolation {
public:
    WeightInterpolation(const std::filesystem::path& from, const std::filesystem::path& to)
        : from_(open(from)), to_(open(to)) {
        if (from_.probe != to_.probe)
            fail(from.string(), " is ", kind(from_), " but ", to.string(), " is ", kind(to_),
                 "; both must be of one kind");
        if (from_.probe)
            check_probes();
        else
            check_configs();
        align();
    }

    // The interpolated tensors in `to`'s names and dtypes, and `to`'s metadata (plus the model's
    // config, so that a file made from a model folder loads alone, and the interpolation's record).
    io::NamedTensors interpolate(double alpha, io::Metadata& metadata) const {
        if (!std::isfinite(alpha)) fail("interpolate: alpha must be a finite number, got ", alpha);
        const io::SafetensorsFile& to = file(to_);
        io::NamedTensors tensors;
        for (const Entry& entry : entries_) {
            const io::TensorInfo& info = to.info(entry.name);
            if (!io::is_floating_dtype(info.dtype)) {
                tensors.emplace_back(entry.name, to.get_any(entry.name));
                continue;
            }
            Tensor<double> result = alpha == 0 ? from_value(entry) : to.get<double>(entry.name).contiguous();
            if (alpha != 0 && alpha != 1) {
                Tensor<double> a = from_value(entry);
                double* r = result.data();
                const double* x = a.data();
                backend::parallel_for(result.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
                    for (std::int64_t i = begin; i < end; ++i) r[i] = (1 - alpha) * x[i] + alpha * r[i];
                });
            }
            io::visit_dtype(info.dtype, [&]<typename T>() {
                if constexpr (!std::is_integral_v<T>) tensors.emplace_back(entry.name, result.template to<T>());
            });
        }
        metadata = to.metadata();
        if (!to_.probe && !metadata.contains("config"))
            metadata["config"] = models::openai_config_string(to_.checkpoint->config);
        metadata["interpolation"] =
            io::Json{{"from", from_.path.string()}, {"to", to_.path.string()}, {"alpha", alpha}}.dump();
        return tensors;
    }

    void write(double alpha, const std::filesystem::path& out) const {
        io::Metadata metadata;
        io::NamedTensors tensors = interpolate(alpha, metadata);
        io::save_safetensors(out, tensors, metadata);
    }

    std::size_t size() const { return entries_.size(); }

private:
    struct Side {
        std::filesystem::path path;
        bool probe = false;
        std::optional<models::Checkpoint> checkpoint;
        std::optional<io::SafetensorsFile> probe_file;
    };
    // A tensor of `to` and where its values in `from` are: the same name (source empty), or part
    // `part` of `parts` (rows) of the OpenAI parameter `source`, transposed first where HuggingFace stores it so.
    struct Entry {
        std::string name, source;
        std::int64_t part = 0, parts = 1;
        bool transposed = false;
    };

    static Side open(const std::filesystem::path& path) {
        Side side{path, false, std::nullopt, std::nullopt};
        if (std::filesystem::is_regular_file(path)) {
            io::SafetensorsFile file = io::load_safetensors(path);
            if (Probe::is_probe_file(file)) {
                side.probe = true;
                side.probe_file = std::move(file);
                return side;
            }
        }
        side.checkpoint = models::open_checkpoint(path);
        return side;
    }
    static const char* kind(const Side& side) { return side.probe ? "a probe" : "a CLIP checkpoint"; }
    static const io::SafetensorsFile& file(const Side& side) {
        return side.probe ? *side.probe_file : side.checkpoint->reader.file();
    }
    std::string where(const Side& side) const { return side.path.string(); }

    void check_probes() const {
        for (const Side* side : {&from_, &to_})
            if (!side->probe_file->contains("probe.weight"))
                fail(where(*side),
                     ": a kNN probe holds training features, not weights; only linear probes can be interpolated");
        auto classes = [](const Side& side) {
            const io::Metadata& metadata = side.probe_file->metadata();
            return metadata.contains("classes") ? metadata.at("classes") : std::string();
        };
        if (classes(from_) != classes(to_))
            fail("the probes have different classes: ", where(from_), " '", classes(from_), "', ", where(to_), " '",
                 classes(to_), "'");
    }

    void check_configs() const {
        std::string a = models::openai_config_string(from_.checkpoint->config),
                    b = models::openai_config_string(to_.checkpoint->config);
        if (a != b) fail("the models have different configs: ", where(from_), " ", a, "; ", where(to_), " ", b);
    }

    models::CheckpointLayout layout(const Side& side) const {
        return side.probe ? models::CheckpointLayout::openai : side.checkpoint->reader.layout();
    }

    void align() {
        const io::SafetensorsFile &from = file(from_), &to = file(to_);
        if (layout(from_) == layout(to_)) {
            for (const std::string& name : to.names()) {
                if (!from.contains(name))
                    fail(where(to_), ": tensor '", name, "' has no counterpart in ", where(from_));
                entries_.push_back({name, ""});
            }
            for (const std::string& name : from.names())
                if (!to.contains(name)) fail(where(from_), ": tensor '", name, "' has no counterpart in ", where(to_));
        } else if (layout(to_) == models::CheckpointLayout::openai) { // from: HuggingFace names
            std::vector<std::string> names;
            for (const std::string& name : to.names()) {
                if (!from_.checkpoint->reader.contains(name))
                    fail(where(to_), ": tensor '", name, "' has no counterpart in ", where(from_),
                         " (HuggingFace names)");
                entries_.push_back({name, name});
                names.push_back(name);
            }
            std::set<std::string> used = from_.checkpoint->reader.stored_names(names);
            for (const std::string& name : from.names())
                if (!used.contains(name) && !models::is_huggingface_buffer(name))
                    fail(where(from_), ": tensor '", name, "' has no counterpart in ", where(to_), " (OpenAI names)");
        } else { // from: OpenAI names, to: HuggingFace names
            std::map<std::string, Entry> parts;
            for (const std::string& name : from.names()) {
                models::HuggingFaceSource source;
                try {
                    source = models::huggingface_source(name);
                } catch (const Error&) {
                    fail(where(from_), ": tensor '", name, "' has no HuggingFace name, so no counterpart in ",
                         where(to_));
                }
                for (std::size_t i = 0; i < source.names.size(); ++i) {
                    if (!to.contains(source.names[i]))
                        fail(where(from_), ": tensor '", name, "' has no counterpart '", source.names[i], "' in ",
                             where(to_));
                    parts[source.names[i]] = {source.names[i], name, std::int64_t(i), std::int64_t(source.names.size()),
                                              source.transposed};
                }
            }
            for (const std::string& name : to.names()) {
                auto found = parts.find(name);
                if (found != parts.end())
                    entries_.push_back(found->second);
                else if (!models::is_huggingface_buffer(name))
                    fail(where(to_), ": tensor '", name, "' has no counterpart in ", where(from_), " (OpenAI names)");
                else
                    entries_.push_back({name, "", 0, 1, false}); // a buffer OpenAI files lack: `to`'s kept
            }
        }
        for (const Entry& entry : entries_) check(entry);
    }

    // The stored dtype and the shape in `to`'s layout of an entry's values in `from`; nullopt for a
    // HuggingFace buffer that `from` lacks.
    std::optional<std::pair<io::Dtype, Shape>> from_info(const Entry& entry) const {
        const io::SafetensorsFile& from = file(from_);
        if (entry.source.empty()) {
            if (!from.contains(entry.name)) return std::nullopt;
            return std::pair{from.info(entry.name).dtype, from.info(entry.name).shape};
        }
        const models::CheckpointReader& reader = from_.checkpoint->reader;
        Shape shape = reader.shape(entry.source);
        io::Dtype dtype = from.info(*reader.stored_names({entry.source}).begin()).dtype;
        if (entry.transposed && shape.size() == 2) std::swap(shape[0], shape[1]);
        if (entry.parts > 1 && !shape.empty()) shape[0] /= entry.parts;
        return std::pair{dtype, shape};
    }

    void check(const Entry& entry) const {
        const io::TensorInfo& info = file(to_).info(entry.name);
        auto from = from_info(entry);
        if (!from) return;
        const bool floating = io::is_floating_dtype(info.dtype);
        if (floating != io::is_floating_dtype(from->first))
            fail("tensor '", entry.name, "': ", info.dtype, " in ", where(to_), " but ", from->first, " in ",
                 where(from_), "; a floating tensor cannot be interpolated with an integer one");
        if (from->second != info.shape)
            fail("tensor '", entry.name, "': shape ", info.shape, " in ", where(to_), " but ", from->second, " in ",
                 where(from_));
        if (!floating && file(from_).get<std::int64_t>(entry.name).to_vector() !=
                             file(to_).get<std::int64_t>(entry.name).to_vector())
            fail("tensor '", entry.name, "' (", info.dtype, ") differs between ", where(from_), " and ", where(to_),
                 "; non-floating tensors must be equal");
    }

    // The entry's values in `from`, in `to`'s layout, as doubles.
    Tensor<double> from_value(const Entry& entry) const {
        if (entry.source.empty()) return file(from_).get<double>(entry.name).contiguous();
        Tensor<double> value = from_.checkpoint->reader.get<double>(entry.source);
        if (entry.transposed) value = value.transpose(0, 1);
        if (entry.parts > 1) {
            std::int64_t rows = value.size(0) / entry.parts;
            value = value.narrow(0, entry.part * rows, rows);
        }
        return value.contiguous();
    }

    Side from_, to_;
    std::vector<Entry> entries_;
};

} // namespace clipft::heads
