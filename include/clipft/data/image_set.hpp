#pragma once
// The images a trainer draws from: item i has class labels[i]; load(items) returns their
// preprocessed pixels [n, 3, R, R] in the order asked. A Dataset becomes one with image_set(); tests
// and generated tasks supply their own load function.
#include <clipft/backends.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/image/augment.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/ops/indexing.hpp>
#include <clipft/random.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>

namespace clipft::inline CLIPFT_BACKENDS::data {

struct ImageSet {
    std::vector<std::int64_t> labels;
    std::function<Tensor<float>(const std::vector<std::int64_t>& items)> load;
    // Optional: the items augmented, item i with a Generator seeded by seeds[i]; a trainer draws its
    // training batches from it when set (validation always uses load). Default-initialised, so that
    // {labels, load} leaves it out without -Wmissing-field-initializers.
    std::function<Tensor<float>(const std::vector<std::int64_t>& items, const std::vector<std::uint64_t>& seeds)>
        load_augmented = {};
    // Optional: one key per item; a trainer then draws each group from one key (train/sampler.hpp):
    // a source video and the fakes made from it, a real face and its own self-blend.
    std::vector<std::int64_t> pair_keys = {};

    // Images held in memory, preprocessed once now (CLIP's resize and crop at `preprocessing.size`);
    // image i has class labels[i].
    static ImageSet from_images(const std::vector<image::Image>& images, std::vector<std::int64_t> labels,
                                const image::PreprocessOptions& preprocessing) {
        if (images.size() != labels.size())
            fail("ImageSet::from_images: ", images.size(), " images but ", labels.size(),
                 " labels; give one label per image");
        if (images.empty()) fail("ImageSet::from_images: no images; give at least one image of every class");
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (labels[i] < 0)
                fail("ImageSet::from_images: image ", i, " has label ", labels[i], "; labels are class indices >= 0");
        Tensor<float> pixels = image::preprocess_batch(images, preprocessing);
        ImageSet set;
        set.labels = std::move(labels);
        set.load = [pixels](const std::vector<std::int64_t>& items) {
            for (std::int64_t item : items)
                if (item < 0 || item >= pixels.size(0))
                    fail("ImageSet: item ", item, " is outside the ", pixels.size(0), " images held in memory");
            return ops::index_select(pixels, 0, Tensor<std::int64_t>::from_vector(items));
        };
        return set;
    }

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

// The dataset's images, decoded and preprocessed (CLIP's resize and crop at `options.size`) in
// parallel when loaded; with `augmentation`, also augmented between decoding and preprocessing.
inline ImageSet image_set(const Dataset& dataset, const image::PreprocessOptions& options,
                          const std::optional<image::Augmentation>& augmentation = std::nullopt) {
    auto paths = std::make_shared<std::vector<std::filesystem::path>>(dataset.paths());
    ImageSet set;
    set.labels = dataset.labels();
    set.load = [paths, options](const std::vector<std::int64_t>& items) {
        std::vector<std::filesystem::path> chosen;
        for (std::int64_t item : items) chosen.push_back(paths->at(std::size_t(item)));
        return image::preprocess_batch(chosen, options);
    };
    if (augmentation)
        set.load_augmented = [paths, options, augmentation = *augmentation](const std::vector<std::int64_t>& items,
                                                                            const std::vector<std::uint64_t>& seeds) {
            return image::preprocess_each(std::int64_t(items.size()), options, [&](std::int64_t i) {
                Generator generator(seeds.at(std::size_t(i)));
                image::Image image = image::load_image(paths->at(std::size_t(items[std::size_t(i)])));
                return image::resize_and_center_crop(image::augment(image, augmentation, generator), options.size);
            });
        };
    return set;
}

} // namespace clipft::data
