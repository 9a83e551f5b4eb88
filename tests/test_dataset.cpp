// Datasets from folders and manifests: classes, subsets and videos from the layout, labels by name
// or index, balanced selection, splits by video without leakage, subset filters, and bad input.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/data/image_set.hpp>
#include <clipft/image/save.hpp>

#include <set>

using namespace clipft;
using data::Dataset;

namespace {

// A 4x4 image whose pixels all hold `value`, saved at `path` (folders created).
void write_image(const std::filesystem::path& path, std::uint8_t value) {
    std::filesystem::create_directories(path.parent_path());
    image::Image picture(4, 4, 3);
    std::fill(picture.pixels.begin(), picture.pixels.end(), value);
    image::save_image(path, picture);
}

// real/: 4 images; fake/<manipulation>/<video>/: 2 manipulations x 2 videos x 2 frames.
void write_folder_dataset(const std::filesystem::path& root) {
    for (int i = 0; i < 4; ++i) write_image(root / "real" / ("r" + std::to_string(i) + ".png"), 10);
    for (std::string manipulation : {"Deepfakes", "FaceSwap"})
        for (std::string video : {"000_003", "001_870"})
            for (int frame = 0; frame < 2; ++frame)
                write_image(root / "fake" / manipulation / video / ("f" + std::to_string(frame) + ".jpg"), 200);
    std::ofstream(root / "real" / "notes.txt") << "not an image";
}

} // namespace

TEST_CASE("a folder dataset reads classes, subsets and videos from its layout") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    Dataset dataset = Dataset::from_folder(folder.path(), {"real", "fake"});
    CHECK(dataset.classes == std::vector<std::string>{"real", "fake"});
    CHECK(dataset.count_per_class() == std::vector<std::int64_t>{4, 8});
    std::set<std::string> subsets, videos;
    for (const auto& sample : dataset.samples) {
        if (sample.label == 0)
            CHECK((sample.subset.empty() && sample.video.empty()));
        else
            subsets.insert(sample.subset), videos.insert(sample.video);
    }
    CHECK(subsets == std::set<std::string>{"Deepfakes", "FaceSwap"});
    CHECK(videos.size() == 4);
    CHECK(videos.contains("FaceSwap/001_870"));
    // Without an order: sorted folder names.
    CHECK(Dataset::from_folder(folder.path()).classes == std::vector<std::string>{"fake", "real"});

    data::ImageSet images = data::image_set(dataset, {.size = 8});
    Tensor<float> pixels = images.load({0, 4});
    CHECK(pixels.shape() == Shape{2, 3, 8, 8});
    CHECK(pixels.at({0, 0, 0, 0}) ==
          doctest::Approx((10 / 255.0 - image::clip_mean[0]) / image::clip_std[0]).epsilon(1e-5));
}

TEST_CASE("a manifest reads labels by name or index, paths relative to itself") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    std::ofstream(folder / "named.csv")
        << "path,label,subset,video\nreal/r0.png,real,,\nfake/Deepfakes/000_003/f0.jpg,fake,Deepfakes,000_003\n";
    Dataset named = Dataset::from_manifest(folder / "named.csv", {"real", "fake"});
    REQUIRE(named.size() == 2);
    CHECK(named.samples[1].label == 1);
    CHECK(named.samples[1].path == folder / "fake/Deepfakes/000_003/f0.jpg");
    CHECK(named.samples[1].video == "000_003");
    std::ofstream(folder / "indexed.csv") << "label,path\n1,fake/FaceSwap/001_870/f1.jpg\n0,real/r1.png\n";
    Dataset indexed = Dataset::open(folder / "indexed.csv");
    CHECK(indexed.classes == std::vector<std::string>{"0", "1"});
    CHECK(indexed.labels() == std::vector<std::int64_t>{1, 0});

    std::ofstream(folder / "bad.csv") << "path,label\nreal/r0.png,real\nfake/x.png,cat\n";
    CHECK(testing::error_message([&] {
              Dataset::from_manifest(folder / "bad.csv", {"real", "fake"});
          }).find("bad.csv:3") != std::string::npos);
    std::ofstream(folder / "one_class.csv") << "path,label\nreal/r0.png,real\n";
    CHECK(testing::error_message([&] {
              Dataset::from_manifest(folder / "one_class.csv", {"real", "fake"});
          }).find("class 'fake' has no images") != std::string::npos);
    std::ofstream(folder / "no_label.csv") << "path,class\nreal/r0.png,real\n";
    CHECK(testing::error_message([&] { Dataset::from_manifest(folder / "no_label.csv"); }).find("no column 'label'") !=
          std::string::npos);
}

TEST_CASE("a manifest's class indices stay below its row count; one of 20 digits is an error, not an exception") {
    testing::TemporaryDirectory folder;
    // A class list as long as the largest index would need 8 GB for this three-line file.
    std::ofstream(folder / "far.csv") << "path,label\na.png,0\nb.png,999999999\n";
    CHECK(testing::error_message([&] { Dataset::from_manifest(folder / "far.csv"); }) ==
          (folder / "far.csv").string() + ":3: label 999999999 is not a class index: with 2 rows the classes are 0..1 "
                                          "(every class needs an image)");
    std::ofstream(folder / "digits.csv") << "path,label\na.png,0\nb.png,99999999999999999999\n";
    CHECK(testing::error_message([&] {
              Dataset::from_manifest(folder / "digits.csv");
          }).starts_with((folder / "digits.csv").string() + ":3: label 99999999999999999999 is not a class index"));
    CHECK(testing::error_message([&] {
              Dataset::from_manifest(folder / "digits.csv", {"real", "fake"});
          }) == (folder / "digits.csv").string() +
                    ":3: label 99999999999999999999 is not a class index (2 classes: real, fake)");
}

TEST_CASE("balanced selection shares each class's quota among its subsets") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    Dataset dataset = Dataset::from_folder(folder.path(), {"real", "fake"});
    Dataset balanced = dataset.balanced(4, 1);
    CHECK(balanced.count_per_class() == std::vector<std::int64_t>{4, 4});
    std::map<std::string, int> per_subset;
    for (const auto& sample : balanced.samples) per_subset[sample.subset] += sample.label == 1;
    CHECK(per_subset["Deepfakes"] == 2);
    CHECK(per_subset["FaceSwap"] == 2);
    CHECK(dataset.balanced(4, 1).paths() == balanced.paths()); // seeded
    CHECK(dataset.balanced(2, 1).count_per_class() == std::vector<std::int64_t>{2, 2});
}

TEST_CASE("a split by video never puts frames of one video on both sides") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    Dataset dataset = Dataset::from_folder(folder.path(), {"real", "fake"});
    auto [train, held_out] = dataset.split_by_video(0.5, 3);
    CHECK(train.size() + held_out.size() == dataset.size());
    CHECK(held_out.count_per_class()[0] > 0); // stratified: both classes on both sides
    CHECK(held_out.count_per_class()[1] > 0);
    CHECK(train.count_per_class()[1] > 0);
    std::set<std::string> train_videos;
    for (const auto& sample : train.samples)
        if (!sample.video.empty()) train_videos.insert(sample.video);
    for (const auto& sample : held_out.samples) CHECK_FALSE(train_videos.contains(sample.video));
    CHECK(testing::error_message([&] { dataset.split_by_video(1.5, 3); }).find("(0, 1)") != std::string::npos);
    Dataset one_video = dataset.filter(
        [](const data::Sample& sample) { return sample.label == 0 || sample.video == "Deepfakes/000_003"; });
    CHECK(testing::error_message([&] { one_video.split_by_video(0.5, 3); }).find("class 'fake' has 1 video") !=
          std::string::npos);
}

TEST_CASE("subset filters give leave-one-manipulation-out splits") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    Dataset dataset = Dataset::from_folder(folder.path(), {"real", "fake"});
    Dataset without = dataset.without_subset("FaceSwap"), only = dataset.only_subset("FaceSwap");
    CHECK(without.count_per_class() == std::vector<std::int64_t>{4, 4});
    CHECK(only.count_per_class() == std::vector<std::int64_t>{4, 4});
    for (const auto& sample : without.samples) CHECK(sample.subset != "FaceSwap");
}

TEST_CASE("missing folders and classes without images are reported") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    CHECK(testing::error_message([&] {
              Dataset::from_folder(folder.path(), {"real", "cat"});
          }).find("no folder 'cat'") != std::string::npos);
    CHECK(testing::error_message([&] { Dataset::open(folder / "missing"); }).find("no such dataset") !=
          std::string::npos);
    std::filesystem::create_directories(folder / "empty" / "real");
    std::filesystem::create_directories(folder / "empty" / "fake");
    write_image(folder / "empty" / "real" / "a.png", 1);
    CHECK(testing::error_message([&] { Dataset::from_folder(folder / "empty"); }).find("class 'fake' has no images") !=
          std::string::npos);
}

TEST_CASE("an augmented image set gives the same pixels for the same seed and others for another") {
    testing::TemporaryDirectory folder;
    write_folder_dataset(folder.path());
    Dataset dataset = Dataset::from_folder(folder.path(), {"real", "fake"});
    CHECK_FALSE(data::image_set(dataset, {.size = 8}).load_augmented);
    data::ImageSet images = data::image_set(dataset, {.size = 8}, image::Augmentation::parse("jitter=0.5"));
    REQUIRE(images.load_augmented);
    auto a = images.load_augmented({0, 5}, {11, 12}).to_vector(),
         b = images.load_augmented({0, 5}, {11, 12}).to_vector();
    auto c = images.load_augmented({0, 5}, {13, 12}).to_vector();
    CHECK(a == b);
    CHECK(a != c);
}
