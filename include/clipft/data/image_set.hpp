#pragma once
// The images a trainer draws from: item i has class labels[i]; load(items) returns their
// preprocessed pixels [n, 3, R, R] in the order asked. A Dataset becomes one with image_set(); tests
// and generated tasks supply their own load function.
#include <clipft/data/dataset.hpp>
#include <clipft/image/preprocess.hpp>

#include <functional>

namespace clipft::data {

struct ImageSet {
    std::vector<std::int64_t> labels;
    std::function<Tensor<float>(const std::vector<std::int64_t>& items)> load;

    std::vector<std::vector<std::int64_t>> items_of_class(std::int64_t classes) const {
        std::vector<std::vector<std::int64_t>> items(static_cast<std::size_t>(classes));
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (labels[i] < 0 || labels[i] >= classes)
                fail("ImageSet: item ", i, " has label ", labels[i], ", outside the ", classes, " classes");
            items[std::size_t(labels[i])].push_back(std::int64_t(i));
        }
        return items;
    }
};

// The dataset's images, decoded and preprocessed (CLIP's resize and crop at `options.size`) in parallel when loaded.
inline ImageSet image_set(const Dataset& dataset, const image::PreprocessOptions& options) {
    return {dataset.labels(), [paths = dataset.paths(), options](const std::vector<std::int64_t>& items) {
                std::vector<std::filesystem::path> chosen;
                for (std::int64_t item : items) chosen.push_back(paths.at(std::size_t(item)));
                return image::preprocess_batch(chosen, options);
            }};
}

} // namespace clipft::data
