// Training from real faces alone (data/self_blended.hpp) and groups paired by key (train/sampler.hpp):
// each real with its own blend, blends drawn anew per epoch from the image and the epoch, fakes equal
// to their sources outside the mask, on real photographs with their landmarks.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/data/self_blended.hpp>
#include <clipft/image/save.hpp>

#include <fstream>
#include <set>

using namespace clipft;
namespace fs = std::filesystem;

namespace {

// Two real photographs (scaled to 160 px) with their .tem landmarks as `clipft faces` landmarks CSV
// files, and a manifest of them; empty when the shared data is missing.
fs::path write_face_manifest(const fs::path& folder) {
    std::string manifest = "path,label,subset,video,landmarks\n";
    for (std::string name : {"face_0001", "face_0002"}) {
        const fs::path image_path = testing::shared_path("data/faces-real/" + name + ".jpg");
        const fs::path landmarks_path = testing::shared_path("data/faces-real-landmarks/" + name + ".tem");
        if (image_path.empty() || landmarks_path.empty()) return {};
        const image::Image face = image::load_image(image_path);
        const double scale = 160.0 / double(face.width);
        image::save_image(folder / (name + ".png"),
                          image::resize_bicubic(face, std::llround(face.height * scale), 160));
        std::ofstream points(folder / (name + ".landmarks.csv"));
        points << "x,y\n";
        for (const faces::Point& point : faces::read_tem_landmarks(landmarks_path))
            points << point.x * scale << "," << point.y * scale << "\n";
        manifest += name + ".png,real,," + name + "," + name + ".landmarks.csv\n";
    }
    std::ofstream(folder / "manifest.csv") << manifest;
    return folder / "manifest.csv";
}

} // namespace

TEST_CASE("GroupSampler with pair keys: every group from one key, seeds from the item and its use, state round trip") {
    // Items: 0 real/1 fake of key 0, 2 real/3 fake and 4 fake of key 1, 5 real without a partner (never drawn).
    std::vector<std::vector<std::int64_t>> items_of_class = {{0, 2, 5}, {1, 3, 4}};
    const std::vector<std::int64_t> keys = {0, 0, 1, 1, 1, 7};
    train::GroupSamplerOptions options{.k = 2, .groups_per_batch = 2, .seed = 9, .draw_seeds = true};
    train::GroupSampler sampler(items_of_class, {1, 1}, options, keys);
    CHECK(sampler.batches_per_epoch() == 1);
    std::map<std::int64_t, std::int64_t> uses;
    std::set<std::uint64_t> seeds;
    for (int batch = 0; batch < 6; ++batch) {
        train::SampledBatch sampled = sampler.next();
        REQUIRE(sampled.items.size() == 4);
        std::set<std::int64_t> keys_of_batch;
        for (int g = 0; g < 2; ++g) {
            const std::int64_t real = sampled.items[std::size_t(2 * g)], fake = sampled.items[std::size_t(2 * g + 1)];
            CHECK(keys[std::size_t(real)] == keys[std::size_t(fake)]);
            CHECK(real != 5);
            keys_of_batch.insert(keys[std::size_t(real)]);
            const std::int64_t use = uses[keys[std::size_t(real)]]++;
            CHECK(sampled.seeds[std::size_t(2 * g)] == train::item_use_seed(9, real, use));
            CHECK(sampled.seeds[std::size_t(2 * g + 1)] == train::item_use_seed(9, fake, use));
            seeds.insert(sampled.seeds[std::size_t(2 * g + 1)]);
        }
        CHECK(keys_of_batch.size() == 2); // one pass over the keys per batch here: each key once
    }
    CHECK(seeds.size() >= 8); // blends differ from epoch to epoch
    train::GroupSampler resumed(items_of_class, {1, 1}, options, keys);
    resumed.load_state(sampler.state());
    CHECK(resumed.next().items == sampler.next().items);
    train::GroupSampler unpaired(items_of_class, {1, 1}, options);
    CHECK(testing::error_message([&] { unpaired.load_state(sampler.state()); }).find("pairs") != std::string::npos);
    CHECK(testing::error_message([&] {
              train::GroupSampler(items_of_class, {1, 1}, options, {0, 1, 2, 3, 4, 5});
          }).find("no pair key holds images of every class") != std::string::npos);
}

TEST_CASE(
    "self-blended images: equal to the source outside the mask, changed inside; a crop without landmarks is refused") {
    testing::TemporaryDirectory folder;
    const fs::path manifest = write_face_manifest(folder.path());
    if (manifest.empty()) return;
    const data::Dataset dataset = data::Dataset::from_manifest(manifest, {"real", "fake"}, false);
    for (const data::Sample& sample : dataset.samples) {
        Generator generator(3);
        const faces::BlendedFace blended = data::blend_sample(sample, generator, {});
        const image::Image source = image::load_image(sample.path);
        REQUIRE(blended.fake.width == source.width);
        const std::vector<std::uint8_t> mask = data::mask_bytes(blended.mask);
        std::int64_t inside = 0, changed = 0, mask_mismatches = 0, changed_outside = 0, outside = 0;
        for (std::int64_t y = 0; y < source.height; ++y)
            for (std::int64_t x = 0; x < source.width; ++x) {
                const std::size_t i = std::size_t(y * source.width + x);
                mask_mismatches += (mask[i] == 0) != (blended.mask[i] == 0.0f);
                bool differs = false;
                for (std::int64_t c = 0; c < 3; ++c) differs |= blended.fake.at(y, x, c) != source.at(y, x, c);
                if (mask[i] == 0) ++outside, changed_outside += differs;
                if (blended.mask[i] > 0.5f) ++inside, changed += differs;
            }
        CHECK(mask_mismatches == 0);
        CHECK(outside > 0);
        CHECK(changed_outside == 0);
        CHECK(inside > 0);
        CHECK(changed * 2 > inside); // most pixels of the blended region change
    }
    std::ofstream(folder.path() / "plain.csv") << "path,label\nface_0001.png,real\n";
    data::Dataset plain = data::Dataset::from_manifest(folder.path() / "plain.csv", {"real", "fake"}, false);
    CHECK(testing::error_message([&] {
              data::require_landmarks(plain, 0, "plain.csv");
          }).find("face_0001.png has no landmarks") != std::string::npos);
}

TEST_CASE(
    "self_blended_set: each real beside its own blend, fixed blends for validation, new ones per seed for training") {
    testing::TemporaryDirectory folder;
    const fs::path manifest = write_face_manifest(folder.path());
    if (manifest.empty()) return;
    const data::Dataset dataset = data::Dataset::from_manifest(manifest, {"real", "fake"}, false);
    const image::PreprocessOptions preprocess{.size = 32};
    data::ImageSet set =
        data::self_blended_set(dataset, 0, 1, preprocess, std::nullopt, {{}, 5, false}, "manifest.csv");
    CHECK(set.labels == std::vector<std::int64_t>{0, 1, 0, 1});
    CHECK(set.pair_keys == std::vector<std::int64_t>{0, 0, 1, 1});
    REQUIRE(set.load_augmented);
    auto differ = [](const Tensor<float>& a, const Tensor<float>& b) { return a.to_vector() != b.to_vector(); };
    const Tensor<float> fixed = set.load({0, 1});
    CHECK(!differ(fixed, set.load({0, 1})));
    CHECK(differ(set.load({1}), set.load({0})));                   // the blend is not the real
    CHECK(!differ(set.load_augmented({0}, {123}), set.load({0}))); // a real stays itself without augmentation
    CHECK(differ(set.load_augmented({1}, {train::item_use_seed(5, 1, 1)}),
                 set.load_augmented({1}, {train::item_use_seed(5, 1, 2)})));
    CHECK(!differ(set.load_augmented({1}, {77}), set.load_augmented({1}, {77})));
    data::ImageSet with_fakes =
        data::self_blended_set(dataset, 0, 1, preprocess, std::nullopt, {{}, 5, true}, "manifest.csv");
    CHECK(with_fakes.pair_keys.empty());
}
