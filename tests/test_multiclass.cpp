// N-class building blocks: multi-class metrics against scikit-learn (tests/reference/
// multiclass_metrics.py), the batch a sampler drew as a GroupBatch, in-memory image sets, synthetic
// sets of several manipulations, subsets as classes, vocabulary and description-set lookup, and a
// Trainer validating three classes.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "training_data.hpp"

#include <clipft/data/synthetic_faces.hpp>
#include <clipft/eval/multiclass.hpp>
#include <clipft/io/json.hpp>
#include <clipft/text/description_set.hpp>
#include <clipft/train/group_batch.hpp>
#include <clipft/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

using namespace clipft;
using clipft::testing::TemporaryDirectory;
using clipft::testing::contains;

namespace {

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

Tensor<float> probabilities_of(const io::Json& rows) {
    std::vector<float> values;
    for (const io::Json& row : rows)
        for (const io::Json& value : row) values.push_back(value.get<float>());
    return Tensor<float>::from_vector(values, {std::int64_t(rows.size()), std::int64_t(rows.at(0).size())});
}

} // namespace

TEST_CASE("multiclass_metrics: accuracy, confusion matrix, macro and per-class AUC and AP as scikit-learn's") {
    io::Json reference =
        io::read_json_file(std::filesystem::path(CLIPFT_SOURCE_DIR) / "tests/reference/multiclass_metrics.json");
    REQUIRE(reference.at("cases").size() >= 4);
    for (const io::Json& example : reference.at("cases")) {
        CAPTURE(example.at("name").get<std::string>());
        std::vector<std::int64_t> labels = example.at("labels").get<std::vector<std::int64_t>>();
        std::vector<std::string> classes = example.at("classes").get<std::vector<std::string>>();
        eval::MulticlassMetrics metrics =
            eval::multiclass_metrics(labels, probabilities_of(example.at("probabilities")), classes);
        CHECK(metrics.accuracy == doctest::Approx(example.at("accuracy").get<double>()).epsilon(1e-12));
        CHECK(metrics.macro_auc == doctest::Approx(example.at("macro_auc").get<double>()).epsilon(1e-12));
        CHECK(metrics.confusion_matrix == example.at("confusion_matrix").get<std::vector<std::vector<std::int64_t>>>());
        for (std::size_t c = 0; c < classes.size(); ++c) {
            CHECK(metrics.auc[c] == doctest::Approx(example.at("per_class_auc")[c].get<double>()).epsilon(1e-12));
            CHECK(metrics.average_precision[c] ==
                  doctest::Approx(example.at("per_class_ap")[c].get<double>()).epsilon(1e-12));
        }
        nlohmann::ordered_json json = eval::to_json(metrics);
        CHECK(json.at("per_class").at(classes[0]).at("auc").get<double>() == metrics.auc[0]);
        CHECK(json.at("confusion_matrix").size() == classes.size());
    }
}

TEST_CASE("multiclass_metrics: a class without images, a label outside the classes, mismatched shapes are errors") {
    Tensor<float> probabilities = Tensor<float>::from_vector({0.5f, 0.3f, 0.2f, 0.1f, 0.8f, 0.1f}, {2, 3});
    CHECK(contains(error_of([&] {
                       eval::multiclass_metrics({0, 1}, probabilities, {"real", "FaceSwap", "SelfBlended"});
                   }),
                   "class 'SelfBlended' has no images"));
    CHECK(contains(error_of([&] {
                       eval::multiclass_metrics({0, 3}, probabilities, {"a", "b", "c"});
                   }),
                   "label 3 of image 1"));
    CHECK(contains(error_of([&] {
                       eval::multiclass_metrics({0, 1}, probabilities, {"a", "b"});
                   }),
                   "do not fit 2 labels and 2 classes"));
    CHECK(eval::predicted_classes(Tensor<float>::from_vector({0.4f, 0.4f, 0.2f}, {1, 3})) ==
          std::vector<std::int64_t>{0});
}

TEST_CASE("synthetic_deepfakes with several manipulations: one set of reals, each manipulation its own subset") {
    data::SyntheticDeepfakes set =
        data::synthetic_deepfakes(3, 32, {data::FakeKind::face_swap, data::FakeKind::self_blended}, 7);
    REQUIRE(set.images.size() == 9);
    CHECK(set.labels == std::vector<std::int64_t>{0, 1, 1, 0, 1, 1, 0, 1, 1});
    CHECK(set.subsets == std::vector<std::string>{"", "FaceSwap", "SelfBlended", "", "FaceSwap", "SelfBlended", "",
                                                  "FaceSwap", "SelfBlended"});
    CHECK(set.labels_by_manipulation() == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2});
    CHECK(set.classes_by_manipulation() == std::vector<std::string>{"real", "FaceSwap", "SelfBlended"});
    for (std::size_t i = 1; i < set.images.size(); ++i) CHECK(set.images[i].pixels != set.images[0].pixels);
    // One manipulation: the two-class set, labels 0/1 interleaved.
    data::SyntheticDeepfakes pair = data::synthetic_deepfakes(2, 32, data::FakeKind::self_blended, 7);
    CHECK(pair.labels == std::vector<std::int64_t>{0, 1, 0, 1});
    CHECK(pair.subsets == std::vector<std::string>{"", "SelfBlended", "", "SelfBlended"});
    CHECK(contains(error_of([] { data::synthetic_deepfakes(1, 32, std::vector<data::FakeKind>{}, 0); }),
                   "at least one manipulation"));
}

TEST_CASE("ImageSet::from_images preprocesses once and loads the items asked for") {
    data::SyntheticDeepfakes set = data::synthetic_deepfakes(2, 40, data::FakeKind::face_swap, 3);
    data::ImageSet images = data::ImageSet::from_images(set.images, set.labels, {.size = 32});
    CHECK(images.labels == set.labels);
    Tensor<float> loaded = images.load({2, 0});
    Tensor<float> expected =
        image::preprocess_batch(std::vector<image::Image>{set.images[2], set.images[0]}, {.size = 32});
    CHECK(loaded.shape() == Shape{2, 3, 32, 32});
    CHECK(loaded.to_vector() == expected.to_vector());
    CHECK(contains(error_of([&] {
                       data::ImageSet::from_images(set.images, {0, 1}, {.size = 32});
                   }),
                   "4 images but 2 labels"));
    CHECK(contains(error_of([&] { images.load({4}); }), "item 4 is outside the 4 images"));
}

TEST_CASE("make_group_batch of a sampled batch: the sampler's images, classes and descriptions") {
    // Image i is filled with the value i, so that the batch shows which images it holds.
    std::vector<std::int64_t> labels{0, 1, 2, 0, 1, 2, 0, 1, 2};
    data::ImageSet images;
    images.labels = labels;
    images.load = [](const std::vector<std::int64_t>& items) {
        Tensor<float> pixels = Tensor<float>::zeros({std::int64_t(items.size()), 3, 2, 2});
        for (std::size_t i = 0; i < items.size(); ++i) pixels.select(0, std::int64_t(i)).fill_(float(items[i]));
        return pixels;
    };
    text::TokenizedDescriptions descriptions;
    descriptions.token_ids =
        Tensor<std::int64_t>::from_vector({1, 0, 2, 0, 3, 0, 4, 0}, {4, 2}); // class 1 has two descriptions
    descriptions.first_row = {0, 1, 3};
    descriptions.counts = {1, 2, 1};
    train::GroupSampler sampler(images.items_of_class(3), descriptions.counts,
                                {.k = 3, .groups_per_batch = 2, .seed = 1});
    train::SampledBatch sampled = sampler.next();
    train::GroupBatch<float> batch = train::make_group_batch(sampled, images, descriptions);
    CHECK(batch.pixels.shape() == Shape{2, 3, 3, 2, 2});
    CHECK(batch.class_ids.to_vector() == sampled.classes);
    Tensor<float> pixels = batch.pixels.contiguous();
    Tensor<std::int64_t> ids = batch.token_ids.contiguous(), slots = batch.description_of_slot.contiguous();
    for (std::size_t slot = 0; slot < sampled.items.size(); ++slot) {
        CHECK(pixels.data()[slot * 12] == float(sampled.items[slot]));
        CHECK(labels[std::size_t(sampled.items[slot])] == sampled.classes[slot]);
        std::int64_t row = descriptions.row(sampled.classes[slot], sampled.descriptions[slot]);
        CHECK(ids.data()[slots.data()[slot] * 2] == row + 1);
    }
    sampled.items.pop_back();
    CHECK(contains(error_of([&] { train::make_group_batch(sampled, images, descriptions); }),
                   "needs 6 classes, items and descriptions"));
}

TEST_CASE("Dataset::with_subsets_as_classes: each subset a class, images of no subset keep theirs") {
    data::Dataset dataset;
    dataset.classes = {"real", "fake"};
    for (auto [path, label, subset] :
         {std::tuple{"r0.png", 0, ""}, {"f0.png", 1, "FaceSwap"}, {"f1.png", 1, "SelfBlended"}, {"r1.png", 0, ""}}) {
        data::Sample sample;
        sample.path = path, sample.label = label, sample.subset = subset;
        dataset.samples.push_back(sample);
    }
    data::Dataset by_subset = dataset.with_subsets_as_classes({"real", "SelfBlended", "FaceSwap"});
    CHECK(by_subset.classes == std::vector<std::string>{"real", "SelfBlended", "FaceSwap"});
    CHECK(by_subset.labels() == std::vector<std::int64_t>{0, 2, 1, 0});
    CHECK(dataset.with_subsets_as_classes().classes == std::vector<std::string>{"real", "FaceSwap", "SelfBlended"});
    CHECK(contains(error_of([&] {
                       dataset.with_subsets_as_classes({"real", "FaceSwap", "NeuralTextures"});
                   }),
                   "class 'NeuralTextures' has no images"));
    CHECK(contains(error_of([&] {
                       dataset.with_subsets_as_classes({"real", "FaceSwap"});
                   }),
                   "its class by subset, 'SelfBlended', is not among the classes asked for"));
    CHECK(data::parse_class_from("subset") == data::ClassFrom::subset);
    CHECK(contains(error_of([] { data::parse_class_from("folder"); }), "class source 'folder' is unknown"));
}

TEST_CASE("model_vocabulary and find_description_set: beside the checkpoint, and the shipped sets by name") {
    TemporaryDirectory folder;
    std::ofstream(folder / "model.safetensors") << "x";
    CHECK(text::model_vocabulary(folder.path()) == folder.path());
    CHECK(text::model_vocabulary(folder / "model.safetensors") == folder.path());
    std::ofstream(folder / "bpe_simple_vocab_16e6.txt.gz") << "x";
    CHECK(text::model_vocabulary(folder / "model.safetensors") == folder / "bpe_simple_vocab_16e6.txt.gz");
    std::ofstream(folder / "vocab.json") << "{}";
    CHECK(text::model_vocabulary(folder / "model.safetensors") == folder.path());
    // The build tree's programs find the source tree's sets (the installed package: its own).
    std::vector<std::filesystem::path> folders = text::description_search_folders();
    std::filesystem::path shipped = (std::filesystem::path(CLIPFT_SOURCE_DIR) / "descriptions").lexically_normal();
    CHECK(std::find(folders.begin(), folders.end(), shipped) != folders.end());
    if (!std::getenv("CLIPFT_DESCRIPTIONS_DIR")) CHECK(text::find_description_set("1desc") == shipped / "1desc");
}

TEST_CASE("a Trainer on three classes validates with the macro AUC and the accuracy") {
    std::filesystem::path model_path = clipft::testing::fixture_path("tiny-a");
    if (model_path.empty()) return;
    // Class c has a brighter c-th horizontal band under noise.
    auto banded = [](std::int64_t per_class, std::uint64_t seed) {
        Generator generator(seed);
        Tensor<float> pixels = randn<float>({3 * per_class, 3, 32, 32}, generator, 0.0, 0.5);
        std::vector<std::int64_t> labels;
        for (std::int64_t i = 0; i < 3 * per_class; ++i) {
            labels.push_back(i % 3);
            Tensor<float> band = pixels.select(0, i).narrow(1, 10 * (i % 3), 10);
            band.copy_(band.contiguous() + 1.0f);
        }
        data::ImageSet set;
        set.labels = labels;
        set.load = [pixels](const std::vector<std::int64_t>& items) {
            return ops::index_select(pixels, 0, Tensor<std::int64_t>::from_vector(items));
        };
        return set;
    };
    auto model = models::load_clip<float>(model_path);
    auto tokenizer = text::Tokenizer::load(text::model_vocabulary(model_path));
    auto descriptions = text::TokenizedDescriptions::from_texts(
        {{"The image of a person."}, {"The image of a face swap."}, {"The image of a blended face."}}, tokenizer);
    TemporaryDirectory out;
    train::TrainerOptions options = clipft::testing::small_run(out.path());
    options.sampler.k = 3;
    options.max_epochs = 1;
    data::ImageSet validation = banded(4, 2);
    train::Trainer trainer(*model, banded(8, 1), validation, descriptions, options);
    train::TrainingSummary summary = trainer.run();
    io::Json record;
    for (const io::Json& entry : trainer.history())
        if (entry.at("kind") == "validation") record = entry;
    REQUIRE(record.contains("accuracy"));
    eval::MulticlassMetrics expected =
        eval::multiclass_metrics(validation.labels, trainer.validation_probabilities(), {"a", "b", "c"});
    CHECK(record.at("auc").get<double>() == doctest::Approx(expected.macro_auc).epsilon(1e-12));
    CHECK(record.at("accuracy").get<double>() == doctest::Approx(expected.accuracy).epsilon(1e-12));
    CHECK(summary.best_validation_auc == doctest::Approx(expected.macro_auc).epsilon(1e-12));
}
