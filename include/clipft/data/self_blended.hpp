#pragma once
// Training on self-blended images (faces/self_blend.hpp) from real faces alone: every real crop of a
// `clipft faces` manifest (which holds each crop's landmarks) is an image of the real class, and its
// self-blend, made anew at every use from a seed of the image and its epoch, one of the fake class.
// The two share a pair key, so the sampler (train/sampler.hpp) puts each real into a group with its
// own blend. The blend of a crop and its 8-bit mask are also what `clipft sbi` writes to disk.
#include <clipft/backends.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/faces/landmarks.hpp>
#include <clipft/faces/self_blend.hpp>
#include <clipft/train/sampler.hpp>

#include <cmath>
#include <memory>
#include <optional>

namespace clipft::inline CLIPFT_BACKENDS::data {

// The mask as 8-bit values, rounded up so that exactly the pixels where the source's weight is 0
// are 0.
inline std::vector<std::uint8_t> mask_bytes(const std::vector<float>& mask) {
    std::vector<std::uint8_t> bytes(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i)
        bytes[i] = std::uint8_t(std::clamp(std::ceil(255.0f * mask[i]), 0.0f, 255.0f));
    return bytes;
}

// Refuses samples without landmarks, naming the manifest column they come from.
inline void require_landmarks(const Dataset& dataset, std::int64_t real_class, const std::string& source) {
    for (const Sample& sample : dataset.samples)
        if (sample.label == real_class && sample.landmarks.empty())
            fail(source, ": ", sample.path.string(),
                 " has no landmarks; self-blending needs a manifest of `clipft faces` "
                 "(its landmarks column names each crop's landmarks file)");
}

// The self-blend of `sample` (a crop with landmarks) drawn with `generator`.
inline faces::BlendedFace blend_sample(const Sample& sample, Generator& generator,
                                       const faces::SelfBlendOptions& options) {
    image::Image crop = image::load_image(sample.path);
    try {
        return faces::self_blend(crop, faces::read_landmarks_csv(sample.landmarks), generator, options);
    } catch (const Error& error) {
        fail(sample.path.string(), ": ", error.what());
    }
}

struct SelfBlendedSetOptions {
    faces::SelfBlendOptions blend;
    std::uint64_t seed = 0;
    // Also keep the dataset's own fakes in the fake class (then groups are not paired by image).
    bool keep_dataset_fakes = false;
};

// The images for training or validation: real crop j is item 2 j, its blend item 2 j + 1 (class
// `fake_class`), then the dataset's fakes when kept. load() blends with the seed of the image alone
// (the same blends at every validation); load_augmented() with the sampler's seeds, which for
// paired items mix the image and its epoch (train::item_use_seed).
inline ImageSet self_blended_set(const Dataset& dataset, std::int64_t real_class, std::int64_t fake_class,
                                 const image::PreprocessOptions& preprocess,
                                 const std::optional<image::Augmentation>& augmentation,
                                 const SelfBlendedSetOptions& options, const std::string& source) {
    require_landmarks(dataset, real_class, source);
    struct Item {
        const Sample* sample;
        bool blended;
    };
    auto items = std::make_shared<std::vector<Item>>();
    auto samples = std::make_shared<std::vector<Sample>>(dataset.samples);
    ImageSet set;
    std::int64_t pair = 0;
    for (const Sample& sample : *samples) {
        if (sample.label != real_class) continue;
        items->push_back({&sample, false}), set.labels.push_back(real_class);
        items->push_back({&sample, true}), set.labels.push_back(fake_class);
        if (!options.keep_dataset_fakes) set.pair_keys.insert(set.pair_keys.end(), {pair, pair});
        ++pair;
    }
    if (pair == 0) fail(source, ": no real images to self-blend");
    if (options.keep_dataset_fakes)
        for (const Sample& sample : *samples)
            if (sample.label == fake_class) items->push_back({&sample, false}), set.labels.push_back(fake_class);
    // Augmented (training) or not (validation), after the blend and with the blend's generator.
    auto picture = [items, samples, options, augmentation, size = preprocess.size](std::int64_t item,
                                                                                   std::uint64_t seed, bool augmented) {
        const Item& chosen = items->at(std::size_t(item));
        Generator generator(seed);
        image::Image image = chosen.blended ? blend_sample(*chosen.sample, generator, options.blend).fake
                                            : image::load_image(chosen.sample->path);
        if (augmented && augmentation) image = image::augment(image, *augmentation, generator);
        return image::resize_and_center_crop(image, size);
    };
    set.load = [picture, preprocess, seed = options.seed](const std::vector<std::int64_t>& chosen) {
        return image::preprocess_each(std::int64_t(chosen.size()), preprocess, [&](std::int64_t i) {
            return picture(chosen[std::size_t(i)], train::item_use_seed(seed, chosen[std::size_t(i)], 0), false);
        });
    };
    set.load_augmented = [picture, preprocess](const std::vector<std::int64_t>& chosen,
                                               const std::vector<std::uint64_t>& seeds) {
        return image::preprocess_each(std::int64_t(chosen.size()), preprocess, [&](std::int64_t i) {
            return picture(chosen[std::size_t(i)], seeds.at(std::size_t(i)), true);
        });
    };
    return set;
}

} // namespace clipft::data
