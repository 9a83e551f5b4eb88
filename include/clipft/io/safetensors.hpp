#pragma once
// safetensors checkpoints (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON describing every tensor, then the raw row-major tensor data.
//
// Reading memory-maps the file and checks the whole header before anything is used, so a corrupt
// or hostile file fails with a message naming the file and the tensor, never with a crash. Tensors
// whose stored type is the requested one come back without a copy, aliasing the mapping; the
// mapping is private copy-on-write, so writing to such a tensor (an optimizer step) changes only
// this process's copy, never the file.
//
// Writing produces the canonical layout (JSON header padded with spaces to a multiple of 8, tensors
// ordered by item size descending then name, so each is aligned to its item size) and replaces the
// target atomically.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/error.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/json.hpp>
#include <clipft/io/limits.hpp>
#include <clipft/scalar_types.hpp>
#include <clipft/tensor.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::io {

static_assert(std::endian::native == std::endian::little,
              "clipft reads and writes safetensors data in place, which needs a little-endian machine");

// The element types clipft reads and writes.
enum class Dtype { F64, F32, F16, BF16, I64, I32, U8 };

namespace detail {
struct DtypeDescription {
    Dtype dtype;
    std::string_view name;
    std::size_t size;
};
inline constexpr DtypeDescription dtype_table[] = {
    {Dtype::F64, "F64", 8}, {Dtype::F32, "F32", 4}, {Dtype::F16, "F16", 2}, {Dtype::BF16, "BF16", 2},
    {Dtype::I64, "I64", 8}, {Dtype::I32, "I32", 4}, {Dtype::U8, "U8", 1},
};
inline constexpr std::string_view supported_dtypes = "F64, F32, F16, BF16, I64, I32, U8";
} // namespace detail

inline std::string_view dtype_name(Dtype dtype) { return detail::dtype_table[int(dtype)].name; }
inline std::size_t dtype_size(Dtype dtype) { return detail::dtype_table[int(dtype)].size; }
inline bool is_floating_dtype(Dtype dtype) { return int(dtype) <= int(Dtype::BF16); }
inline std::ostream& operator<<(std::ostream& out, Dtype dtype) { return out << dtype_name(dtype); }

template <typename T>
concept SafetensorsElement =
    std::is_same_v<T, double> || std::is_same_v<T, float> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> ||
    std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint8_t>;

template <SafetensorsElement T> constexpr Dtype dtype_of() {
    if constexpr (std::is_same_v<T, double>)
        return Dtype::F64;
    else if constexpr (std::is_same_v<T, float>)
        return Dtype::F32;
    else if constexpr (std::is_same_v<T, Half>)
        return Dtype::F16;
    else if constexpr (std::is_same_v<T, BFloat16>)
        return Dtype::BF16;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return Dtype::I64;
    else if constexpr (std::is_same_v<T, std::int32_t>)
        return Dtype::I32;
    else
        return Dtype::U8;
}

// Calls function.template operator()<T>() with the C++ type stored as `dtype`.
template <typename Function> decltype(auto) visit_dtype(Dtype dtype, Function&& function) {
    switch (dtype) {
    case Dtype::F64:
        return function.template operator()<double>();
    case Dtype::F32:
        return function.template operator()<float>();
    case Dtype::F16:
        return function.template operator()<Half>();
    case Dtype::BF16:
        return function.template operator()<BFloat16>();
    case Dtype::I64:
        return function.template operator()<std::int64_t>();
    case Dtype::I32:
        return function.template operator()<std::int32_t>();
    case Dtype::U8:
        break;
    }
    return function.template operator()<std::uint8_t>();
}

// A tensor of any element type safetensors files hold in clipft.
using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<Half>, Tensor<BFloat16>, Tensor<std::int64_t>,
                               Tensor<std::int32_t>, Tensor<std::uint8_t>>;
using NamedTensors = std::vector<std::pair<std::string, AnyTensor>>;
using Metadata = std::map<std::string, std::string>;

struct TensorInfo {
    Dtype dtype = Dtype::F32;
    Shape shape;
    std::uint64_t begin = 0, end = 0; // byte range inside the data section (after the header)
    std::int64_t numel() const { return element_count(shape); }
};

namespace detail {

// A read-only file mapped private and writable: pages a tensor writes to become private copies.
class MappedFile {
public:
    MappedFile(const std::filesystem::path& path, const Limits& limits) {
        int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (descriptor < 0) fail(path.string(), ": cannot open: ", std::strerror(errno));
        struct stat status {};
        if (::fstat(descriptor, &status) != 0) {
            int error = errno;
            ::close(descriptor);
            fail(path.string(), ": cannot stat: ", std::strerror(error));
        }
        if (!S_ISREG(status.st_mode)) {
            ::close(descriptor);
            fail(path.string(), ": not a regular file");
        }
        size_ = std::size_t(status.st_size);
        if (size_ > limits.max_safetensors_file_bytes) {
            ::close(descriptor);
            check_limit(size_, limits.max_safetensors_file_bytes, "max_safetensors_file_bytes",
                        path.string() + ": the file size");
        }
        if (size_ < 8) {
            ::close(descriptor);
            fail(path.string(), ": the file has ", size_,
                 " bytes; a safetensors file starts with an 8-byte header length (truncated or not a safetensors "
                 "file?)");
        }
        // MAP_NORESERVE: only the pages actually written need swap space, not the whole file.
        void* address = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, descriptor, 0);
        int error = errno;
        ::close(descriptor); // the mapping keeps the file alive
        if (address == MAP_FAILED) fail(path.string(), ": cannot memory-map ", size_, " bytes: ", std::strerror(error));
        data_ = static_cast<std::byte*>(address);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile() { ::munmap(data_, size_); }

    std::byte* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1])});
        std::swap(previous, current);
    }
    return previous[b.size()];
}

// "did you mean 'x', 'y'?" for the names closest to `wanted` (by edit distance; a name containing
// it, or contained in it, counts as close), else a few example names.
inline std::string suggest_names(const std::string& wanted, const std::vector<std::string>& names) {
    if (names.empty()) return "the file has no tensors";
    std::vector<std::pair<std::size_t, const std::string*>> close;
    std::size_t threshold = std::max<std::size_t>(2, wanted.size() / 4);
    for (const std::string& name : names) {
        bool nested =
            !wanted.empty() && (name.find(wanted) != std::string::npos || wanted.find(name) != std::string::npos);
        std::size_t length_gap =
            name.size() > wanted.size() ? name.size() - wanted.size() : wanted.size() - name.size();
        std::size_t distance = nested ? 0 : length_gap > threshold ? threshold + 1 : edit_distance(wanted, name);
        if (distance <= threshold) close.push_back({distance, &name});
    }
    std::stable_sort(close.begin(), close.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string text;
    std::size_t shown = std::min<std::size_t>(close.size(), 3);
    for (std::size_t i = 0; i < shown; ++i) text += (i ? ", '" : "'") + *close[i].second + "'";
    if (shown > 0) return "did you mean " + text + "? (the file has " + std::to_string(names.size()) + " tensors)";
    for (std::size_t i = 0; i < std::min<std::size_t>(names.size(), 3); ++i) text += (i ? ", '" : "'") + names[i] + "'";
    return "the file has " + std::to_string(names.size()) + " tensors, e.g. " + text;
}

// An array of numbers as text for messages, shortened; anything else inside it shows as its type
// only (a hostile header may nest arrays deeply, and recursive printing would overflow the stack).
inline std::string describe_array(const Json& array) {
    // Appended piece by piece: GCC 12 reports a false -Wrestrict for "," + std::string&&.
    auto describe = [](const Json& value) {
        if (value.is_number()) return value.dump();
        std::string type = "<";
        type += value.type_name();
        return type + ">";
    };
    if (!array.is_array()) return describe(array);
    std::string text = "[";
    std::size_t shown = 0;
    for (const Json& element : array) {
        if (shown++ == 8) return text + ",...]";
        if (shown > 1) text += ',';
        text += describe(element);
    }
    return text + "]";
}

inline std::string json_string(const std::string& text, const std::string& path, const char* what) {
    try {
        return Json(text).dump();
    } catch (const Json::type_error&) {
        fail(path, ": ", what, " '", text, "' is not valid UTF-8");
    }
}

} // namespace detail

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::filesystem::path& path, const Limits& limits = io::limits())
        : path_(path), mapping_(std::make_shared<detail::MappedFile>(path, limits)), limits_(limits) {
        parse_header();
    }

    const std::filesystem::path& path() const { return path_; }
    // Tensor names in the order of their data in the file.
    const std::vector<std::string>& names() const { return names_; }
    std::size_t size() const { return names_.size(); }
    bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
    const TensorInfo& info(const std::string& name) const {
        auto found = tensors_.find(name);
        if (found == tensors_.end())
            fail(path_.string(), ": no tensor named '", name, "'; ", detail::suggest_names(name, names_));
        return found->second;
    }
    const Metadata& metadata() const { return metadata_; }
    // The stored bytes of a tensor (little-endian, row-major), inside the mapping.
    std::span<const std::byte> bytes(const std::string& name) const {
        const TensorInfo& entry = info(name);
        return {data_ + entry.begin, std::size_t(entry.end - entry.begin)};
    }

    // The tensor as T. Without a copy when it is stored as T at an address aligned for T (always
    // true for files in the canonical layout); otherwise converted: any stored type to a floating
    // T (float, double, Half, BFloat16; 16-bit results round to nearest even), integers to an
    // integer T when every value fits. Floating-point data never silently becomes an integer.
    template <SafetensorsElement T> Tensor<T> get(const std::string& name) const {
        const TensorInfo& entry = info(name);
        std::byte* source = data_ + entry.begin;
        if (entry.dtype == dtype_of<T>() && reinterpret_cast<std::uintptr_t>(source) % alignof(T) == 0)
            return Tensor<T>::from_blob(reinterpret_cast<T*>(source), entry.shape, mapping_);
        if (std::is_integral_v<T> && is_floating_dtype(entry.dtype))
            fail(where(name), "stored as ", entry.dtype, ", cannot be read as ", type_name<T>(),
                 " (no silent rounding of floating-point data); read it as float or double");
        check_limit(std::uint64_t(entry.numel()) * sizeof(T), limits_.max_tensor_bytes, "max_tensor_bytes",
                    where(name) + "read as " + std::string(type_name<T>()) + ", its size in bytes");
        Tensor<T> result = Tensor<T>::empty(entry.shape);
        visit_dtype(entry.dtype, [&]<typename Stored>() { convert<Stored>(name, source, result); });
        return result;
    }

    // The tensor in its stored element type (without a copy where get<T> makes none).
    AnyTensor get_any(const std::string& name) const {
        return visit_dtype(info(name).dtype, [&]<typename Stored>() { return AnyTensor(get<Stored>(name)); });
    }

private:
    std::string where(const std::string& name) const { return path_.string() + ": tensor '" + name + "': "; }

    // Copies `count` elements, reading them unaligned (the data may sit at any byte offset).
    template <typename Stored, typename T>
    void convert(const std::string& name, const std::byte* source, Tensor<T>& result) const {
        T* destination = result.data();
        std::int64_t count = result.numel();
        auto load = [source](std::int64_t i) {
            Stored value;
            std::memcpy(&value, source + i * std::int64_t(sizeof(Stored)), sizeof(Stored));
            return value;
        };
        if constexpr (std::is_integral_v<T> && std::is_integral_v<Stored>) {
            // Integer tensors are small (ids); checked serially so that an error can name the element.
            for (std::int64_t i = 0; i < count; ++i) {
                Stored value = load(i);
                if (!std::in_range<T>(value))
                    fail(where(name), "element ", i, " (value ", +value, ") of the ", dtype_of<Stored>(),
                         " tensor does not fit in ", type_name<T>());
                destination[i] = T(value);
            }
        } else if constexpr (!std::is_integral_v<T>) {
            backend::parallel_for(count, 1 << 16, [&](std::int64_t begin, std::int64_t end) {
                for (std::int64_t i = begin; i < end; ++i) destination[i] = convert_scalar<T>(load(i));
            });
        }
    }

    void parse_header() {
        const std::string file = path_.string();
        std::uint64_t header_size = 0;
        std::memcpy(&header_size, mapping_->data(), 8);
        std::uint64_t available = mapping_->size() - 8;
        check_limit(header_size, limits_.max_safetensors_header_bytes, "max_safetensors_header_bytes",
                    file + ": the header length");
        if (header_size > available)
            fail(file, ": header length ", header_size, " exceeds the ", available,
                 " bytes after the length field (truncated or not a safetensors file?)");
        data_ = mapping_->data() + 8 + header_size;
        std::uint64_t data_size = available - header_size;

        // Duplicate keys are legal JSON but make the file ambiguous; the parser would keep the last.
        std::unordered_set<std::string> seen;
        std::string duplicate;
        Json::parser_callback_t on_key = [&](int depth, Json::parse_event_t event, Json& parsed) {
            if (event == Json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second &&
                duplicate.empty())
                duplicate = parsed.get<std::string>();
            return true;
        };
        Json header = parse_json({reinterpret_cast<const char*>(mapping_->data()) + 8, header_size}, file, 8, on_key);
        if (!header.is_object()) fail(file, ": the header is JSON ", header.type_name(), ", not an object");
        if (!duplicate.empty()) fail(file, ": tensor '", duplicate, "': the name appears twice in the header");
        std::uint64_t tensor_count = header.size() - header.contains("__metadata__");
        check_limit(tensor_count, limits_.max_tensors, "max_tensors", file + ": the number of tensors in the header");

        for (const auto& [name, value] : header.items()) {
            if (name == "__metadata__")
                parse_metadata(value);
            else
                tensors_.emplace(name, parse_entry(name, value, data_size));
        }
        check_overlaps();
    }

    void parse_metadata(const Json& value) {
        if (!value.is_object())
            fail(path_.string(), ": __metadata__ is JSON ", value.type_name(), ", not an object of strings");
        for (const auto& [key, text] : value.items()) {
            if (!text.is_string())
                fail(path_.string(), ": __metadata__ entry '", key, "' is JSON ", text.type_name(), ", not a string");
            metadata_.emplace(key, text.get<std::string>());
        }
    }

    TensorInfo parse_entry(const std::string& name, const Json& value, std::uint64_t data_size) const {
        if (!value.is_object())
            fail(where(name), "entry is JSON ", value.type_name(),
                 ", not an object with dtype, shape and data_offsets");
        for (const auto& [key, field] : value.items())
            if (key != "dtype" && key != "shape" && key != "data_offsets")
                fail(where(name), "unexpected field '", key, "' (expected dtype, shape and data_offsets)");
        for (const char* key : {"dtype", "shape", "data_offsets"})
            if (!value.contains(key)) fail(where(name), "field '", key, "' is missing");

        TensorInfo entry;
        const Json& dtype = value["dtype"];
        if (!dtype.is_string()) fail(where(name), "dtype is JSON ", dtype.type_name(), ", not a string");
        auto known = std::find_if(std::begin(detail::dtype_table), std::end(detail::dtype_table),
                                  [&](const auto& row) { return row.name == dtype.get<std::string>(); });
        if (known == std::end(detail::dtype_table))
            fail(where(name), "dtype '", dtype.get<std::string>(), "' is not supported (clipft reads ",
                 detail::supported_dtypes, ")");
        entry.dtype = known->dtype;

        const Json& shape = value["shape"];
        if (!shape.is_array()) fail(where(name), "shape is JSON ", shape.type_name(), ", not an array");
        std::int64_t count = 1;
        bool overflow = false;
        for (const Json& extent : shape) {
            if (!extent.is_number_unsigned() || extent.get<std::uint64_t>() > std::uint64_t(INT64_MAX))
                fail(where(name), "shape ", detail::describe_array(shape), " must hold non-negative integers");
            entry.shape.push_back(extent.get<std::int64_t>());
            overflow = overflow || __builtin_mul_overflow(count, entry.shape.back(), &count);
        }
        std::uint64_t bytes = 0;
        if (overflow || __builtin_mul_overflow(std::uint64_t(count), dtype_size(entry.dtype), &bytes))
            fail(where(name), "shape ", detail::describe_array(shape),
                 " has more elements than 64-bit sizes can count");

        const Json& offsets = value["data_offsets"];
        std::string offsets_text = "data_offsets " + detail::describe_array(offsets);
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            fail(where(name), offsets_text, " must be two non-negative integers [begin, end]");
        entry.begin = offsets[0].get<std::uint64_t>();
        entry.end = offsets[1].get<std::uint64_t>();
        if (entry.begin > entry.end) fail(where(name), offsets_text, " end before they begin");
        if (entry.end > data_size)
            fail(where(name), offsets_text, " reach past the ", data_size,
                 " bytes of data in the file (truncated file?)");
        if (entry.end - entry.begin != bytes)
            fail(where(name), offsets_text, " hold ", entry.end - entry.begin, " bytes, but shape ", entry.shape,
                 " of ", entry.dtype, " needs ", bytes);
        check_limit(bytes, limits_.max_tensor_bytes, "max_tensor_bytes", where(name) + "its size in bytes");
        return entry;
    }

    // Orders names by data offset, and rejects tensors whose bytes overlap (empty tensors overlap
    // nothing).
    void check_overlaps() {
        names_.reserve(tensors_.size());
        for (const auto& [name, entry] : tensors_) names_.push_back(name);
        std::sort(names_.begin(), names_.end(), [&](const std::string& a, const std::string& b) {
            const TensorInfo &x = tensors_.at(a), &y = tensors_.at(b);
            return std::tie(x.begin, x.end, a) < std::tie(y.begin, y.end, b);
        });
        const std::string* reaching_furthest = nullptr; // among the non-empty tensors seen so far
        std::uint64_t furthest_end = 0;
        for (const std::string& name : names_) {
            const TensorInfo& entry = tensors_.at(name);
            if (entry.begin == entry.end) continue;
            if (reaching_furthest && entry.begin < furthest_end)
                fail(where(name), "bytes [", entry.begin, ", ", entry.end, ") overlap those of tensor '",
                     *reaching_furthest, "' [", tensors_.at(*reaching_furthest).begin, ", ", furthest_end, ")");
            if (entry.end > furthest_end) {
                furthest_end = entry.end;
                reaching_furthest = &name;
            }
        }
    }

    std::filesystem::path path_;
    std::shared_ptr<detail::MappedFile> mapping_;
    Limits limits_;
    std::byte* data_ = nullptr; // start of the data section
    std::unordered_map<std::string, TensorInfo> tensors_;
    std::vector<std::string> names_;
    Metadata metadata_;
};

inline SafetensorsFile load_safetensors(const std::filesystem::path& path, const Limits& limits = io::limits()) {
    return SafetensorsFile(path, limits);
}

// Writes `tensors` (any of the AnyTensor element types, any strides: stored row-major) and
// `metadata` to `path`, replacing it atomically. Names must be unique; "__metadata__" is reserved.
// Loading a canonical file and saving its tensors and metadata reproduces it byte for byte.
inline void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                             const Metadata& metadata = {}) {
    const std::string file = path.string();
    struct Entry {
        const std::string* name;
        const AnyTensor* tensor;
        Dtype dtype;
        Shape shape;
        std::uint64_t bytes;
    };
    std::vector<Entry> entries;
    std::unordered_set<std::string_view> seen;
    for (const auto& named : tensors) {
        // Not a structured binding: clang before 16 cannot capture those in the lambda below.
        const std::string& name = named.first;
        const AnyTensor& tensor = named.second;
        if (name == "__metadata__") fail(file, ": '__metadata__' is reserved and cannot name a tensor");
        if (!seen.insert(name).second) fail(file, ": tensor '", name, "': the name is given twice");
        std::visit(
            [&]<typename T>(const Tensor<T>& t) {
                if (!t.defined()) fail(file, ": tensor '", name, "' is undefined (a default-constructed Tensor)");
                entries.push_back({&name, &tensor, dtype_of<T>(), t.shape(), std::uint64_t(t.numel()) * sizeof(T)});
            },
            tensor);
    }
    // Larger items first, so that every tensor starts at a multiple of its item size.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        if (dtype_size(a.dtype) != dtype_size(b.dtype)) return dtype_size(a.dtype) > dtype_size(b.dtype);
        return *a.name < *b.name;
    });

    // Compact JSON, "__metadata__" first (keys sorted), then the tensors in data order: the layout
    // of the reference writer, so that round trips are byte-identical.
    std::string header = "{";
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        for (const auto& [key, text] : metadata) {
            header += (header.back() == '{' ? "" : ",") + detail::json_string(key, file, "metadata key") + ":" +
                      detail::json_string(text, file, "metadata value");
        }
        header += "}";
    }
    std::uint64_t offset = 0;
    for (const Entry& entry : entries) {
        // Appended piece by piece: GCC 12 reports a false -Wrestrict for "," + std::string&&.
        if (header.size() > 1) header += ',';
        header += detail::json_string(*entry.name, file, "tensor name");
        header += ":{\"dtype\":\"";
        header += dtype_name(entry.dtype);
        header += "\",\"shape\":[";
        for (std::size_t i = 0; i < entry.shape.size(); ++i) {
            if (i) header += ',';
            header += std::to_string(entry.shape[i]);
        }
        header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + entry.bytes) + "]}";
        offset += entry.bytes;
    }
    header += "}";
    header.resize((header.size() + 7) / 8 * 8, ' ');

    write_file_atomically(path, [&](FileWriter& writer) {
        std::uint64_t header_size = header.size();
        writer.write(&header_size, 8);
        writer.write(header);
        for (const Entry& entry : entries) {
            std::visit(
                [&]<typename T>(const Tensor<T>& t) {
                    Tensor<T> dense = t.detach().to(Device::cpu()).contiguous(); // one tensor at a time off a GPU
                    writer.write(dense.data(), entry.bytes);
                },
                *entry.tensor);
        }
    });
}

// Convenience for tensors of one element type, e.g. a model's named parameters.
template <SafetensorsElement T>
void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor<T>>>& tensors,
                      const Metadata& metadata = {}) {
    NamedTensors named;
    named.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) named.emplace_back(name, tensor);
    save_safetensors(path, named, metadata);
}

} // namespace clipft::io
