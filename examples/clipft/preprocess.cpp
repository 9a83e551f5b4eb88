// clipft preprocess: CLIP's image preprocessing of image files, one tensor per file, as safetensors.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <filesystem>
#include <set>

namespace clipft::cli {

int preprocess(const Options& options) {
    if (options.positional().empty()) throw UsageError("no IMG given");
    const long size = options.integer("size");
    if (size <= 0) throw UsageError("--size expects a positive number of pixels, got " + std::to_string(size));
    const std::filesystem::path out = options.text("out");
    std::vector<std::filesystem::path> paths(options.positional().begin(), options.positional().end());
    // Tensors are named by file name, so two files of the same name would collide.
    std::set<std::string> names;
    for (const std::filesystem::path& path : paths)
        if (!names.insert(path.filename().string()).second)
            throw UsageError("two images are named '" + path.filename().string() +
                             "'; the tensors are named by file name, so file names must differ");

    Tensor<float> batch = image::preprocess_batch(paths, {.size = size});
    io::NamedTensors results;
    for (std::size_t i = 0; i < paths.size(); ++i)
        results.emplace_back(paths[i].filename().string(), batch.select(0, std::int64_t(i)));
    io::save_safetensors(out, results);
    return 0;
}

} // namespace clipft::cli
