// The dataset importers (data/datasets/) on small trees in each dataset's own layout: the official
// splits exactly, no identity in two splits, sources and identities, bad input refused with nothing
// written; and identity-safe splits (data/identity_split.hpp).
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/data/datasets/celebdf.hpp>
#include <clipft/data/datasets/dfdcp.hpp>
#include <clipft/data/datasets/ffpp.hpp>
#include <clipft/io/csv.hpp>

#include <fstream>
#include <set>

using namespace clipft;
using namespace clipft::data::datasets;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& path) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "not decoded";
}

void write_text(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

const std::vector<std::string> methods = {"Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter"};

// FF++ with the pairs train [000,003],[001,870]; val [002,006]; test [004,005], in c23 (and a c40 copy of nothing).
void write_face_forensics(const fs::path& root) {
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> splits = {
        {"train", {{"000", "003"}, {"001", "870"}}}, {"val", {{"002", "006"}}}, {"test", {{"004", "005"}}}};
    for (const auto& [name, pairs] : splits) {
        std::string json = "[";
        for (const auto& [a, b] : pairs) {
            json += (json.size() > 1 ? ", " : "") + std::string("[\"") + a + "\", \"" + b + "\"]";
            for (const std::string& person : {a, b})
                touch(root / "original_sequences/youtube/c23/videos" / (person + ".mp4"));
            for (const std::string& method : methods)
                for (auto [x, y] : {std::pair{a, b}, {b, a}})
                    touch(root / "manipulated_sequences" / method / "c23/videos" / (x + "_" + y + ".mp4"));
        }
        write_text(root / "splits" / (name + ".json"), json + "]");
    }
    touch(root / "original_sequences/youtube/c23/videos/999.mp4"); // in no split: left out
}

std::set<std::string> videos_of(const std::vector<Video>& videos) {
    std::set<std::string> names;
    for (const Video& video : videos) names.insert(video.subset + "|" + video.video);
    return names;
}

} // namespace

TEST_CASE("FaceForensics++: the official splits of pairs, reals and every chosen method, sources and identities") {
    testing::TemporaryDirectory folder;
    write_face_forensics(folder.path());
    VideoSplits splits = import_face_forensics(folder.path());
    CHECK(splits.train.size() == 2 * (2 + 4 * 2));
    CHECK(splits.val.size() == 2 + 4 * 2);
    CHECK(splits.test.size() == 2 + 4 * 2);
    std::set<std::string> test = videos_of(splits.test);
    CHECK(test == std::set<std::string>{"|004", "|005", "Deepfakes|004_005", "Deepfakes|005_004", "Face2Face|004_005",
                                        "Face2Face|005_004", "FaceSwap|004_005", "FaceSwap|005_004",
                                        "NeuralTextures|004_005", "NeuralTextures|005_004"});
    CHECK(identities_in_two_splits(splits).empty());
    for (const Video& video : splits.train) {
        CHECK(video.path.is_absolute());
        CHECK(fs::exists(video.path));
        if (video.video == "001_870") {
            CHECK(video.label == "fake");
            CHECK(video.source == "001");
            CHECK(video.identities == std::vector<std::string>{"001", "870"});
            CHECK(video.path.parent_path().parent_path().filename() == "c23");
        }
        if (video.video == "870") CHECK((video.label == "real" && video.source == "870" && video.subset.empty()));
    }
    FaceForensicsOptions with_shifter{"c23", {"FaceShifter"}};
    VideoSplits shifter = import_face_forensics(folder.path(), with_shifter);
    CHECK(shifter.test.size() == 2 + 2);
    CHECK(videos_of(shifter.test).contains("FaceShifter|004_005"));
}

TEST_CASE("FaceForensics++: a split naming a missing video, a malformed split file, a missing root: errors, nothing "
          "written") {
    testing::TemporaryDirectory folder;
    write_face_forensics(folder.path());
    fs::remove(folder.path() / "manipulated_sequences/FaceSwap/c23/videos/005_004.mp4");
    std::string message = testing::error_message([&] { import_face_forensics(folder.path()); });
    CHECK(message.find("test.json") != std::string::npos);
    CHECK(message.find("005_004.mp4") != std::string::npos);
    CHECK(testing::error_message([&] {
              import_face_forensics(folder.path(), {"c40", {"Deepfakes"}});
          }).find("c40") != std::string::npos);
    write_text(folder.path() / "splits/val.json", "[[\"002\"]]");
    CHECK(testing::error_message([&] {
              import_face_forensics(folder.path(), {"c23", {"Deepfakes"}});
          }).find("val.json: entry 0") != std::string::npos);
    write_text(folder.path() / "splits/val.json", "[[\"002\", ");
    CHECK(testing::error_message([&] {
              import_face_forensics(folder.path(), {"c23", {"Deepfakes"}});
          }).find("val.json: invalid JSON") != std::string::npos);
    CHECK(testing::error_message([&] {
              import_face_forensics(folder.path() / "nowhere");
          }).find("nowhere: no such folder") != std::string::npos);
    CHECK(testing::error_message([&] {
              import_face_forensics(folder.path(), {"c23", {"DeepFakeDetection"}});
          }).find("unknown method 'DeepFakeDetection'") != std::string::npos);
}

TEST_CASE("FaceForensics++: an identity in two split files is refused") {
    testing::TemporaryDirectory folder;
    write_face_forensics(folder.path());
    write_text(folder.path() / "splits/val.json", "[[\"002\", \"006\"], [\"000\", \"003\"]]");
    CHECK(testing::error_message([&] { import_face_forensics(folder.path()); }).find("is in two splits") !=
          std::string::npos);
}

TEST_CASE("write_video_splits: train, val, test and split.csv; refused before writing when a split is empty") {
    testing::TemporaryDirectory folder;
    write_face_forensics(folder.path() / "ffpp");
    VideoSplits splits = import_face_forensics(folder.path() / "ffpp");
    write_video_splits(splits, folder.path() / "out", "ffpp");
    io::CsvTable train = io::read_csv(folder.path() / "out/train.csv");
    CHECK(train.header == std::vector<std::string>{"path", "label", "subset", "video", "source", "identities"});
    CHECK(train.rows.size() == splits.train.size());
    io::CsvTable record = io::read_csv(folder.path() / "out/split.csv");
    CHECK(record.rows.size() == splits.train.size() + splits.val.size() + splits.test.size());
    splits.test.clear();
    CHECK(testing::error_message([&] {
              write_video_splits(splits, folder.path() / "empty", "ffpp");
          }).find("no test videos") != std::string::npos);
    CHECK(!fs::exists(folder.path() / "empty"));
}

namespace {

// Celeb-DF v2: 4 celebrities with 2 real videos each, all ordered swaps between them, 3 YouTube videos.
void write_celeb_df(const fs::path& root) {
    for (int a = 0; a < 4; ++a) {
        for (int n = 0; n < 2; ++n)
            touch(root / "Celeb-real" / ("id" + std::to_string(a) + "_000" + std::to_string(n) + ".mp4"));
        for (int b = 0; b < 4; ++b)
            if (a != b)
                touch(root / "Celeb-synthesis" / ("id" + std::to_string(a) + "_id" + std::to_string(b) + "_0000.mp4"));
    }
    for (int n = 0; n < 3; ++n) touch(root / "YouTube-real" / ("0000" + std::to_string(n) + ".mp4"));
    write_text(root / "List_of_testing_videos.txt",
               "1 YouTube-real/00000.mp4\n1 Celeb-real/id3_0001.mp4\n0 Celeb-synthesis/id3_id2_0000.mp4\r\n\n");
}

} // namespace

TEST_CASE("Celeb-DF v2: test = the listed videos, train = the rest, val an identity-safe share of train") {
    testing::TemporaryDirectory folder;
    write_celeb_df(folder.path());
    VideoSplits splits = import_celeb_df(folder.path(), 0.1, 5);
    CHECK(videos_of(splits.test) == std::set<std::string>{"|YouTube-real/00000", "|Celeb-real/id3_0001",
                                                          "Celeb-synthesis|Celeb-synthesis/id3_id2_0000"});
    CHECK(splits.train.size() + splits.val.size() + splits.dropped.size() == 8 + 12 + 3 - 3);
    CHECK(!splits.val.empty());
    // No identity on both sides of train and val (the official test list shares people with training).
    std::set<std::string> train_people, val_people;
    for (const Video& video : splits.train) train_people.insert(video.identities.begin(), video.identities.end());
    for (const Video& video : splits.val) val_people.insert(video.identities.begin(), video.identities.end());
    for (const std::string& name : val_people) CHECK(!train_people.contains(name));
    for (const Video& video : splits.train)
        if (video.video == "Celeb-synthesis/id1_id0_0000")
            CHECK(
                (video.source == "Celeb-real/id1_0000" && video.identities == std::vector<std::string>{"id1", "id0"}));
    drop_test_identities(splits);
    CHECK(identities_in_two_splits(splits).empty());
    // The same seed gives the same split.
    CHECK(videos_of(import_celeb_df(folder.path(), 0.1, 5).val) ==
          videos_of(import_celeb_df(folder.path(), 0.1, 5).val));
}

TEST_CASE(
    "Celeb-DF v2: a listed video that is missing, a malformed line, a wrong label: errors naming the list's line") {
    testing::TemporaryDirectory folder;
    write_celeb_df(folder.path());
    fs::remove(folder.path() / "Celeb-real/id3_0001.mp4");
    std::string message = testing::error_message([&] { import_celeb_df(folder.path(), 0.1, 5); });
    CHECK(message.find("List_of_testing_videos.txt:2") != std::string::npos);
    CHECK(message.find("id3_0001.mp4, which does not exist") != std::string::npos);
    write_text(folder.path() / "List_of_testing_videos.txt", "1 YouTube-real/00000.mp4\n2 x\n");
    CHECK(testing::error_message([&] {
              import_celeb_df(folder.path(), 0.1, 5);
          }).find("List_of_testing_videos.txt:2: expected") != std::string::npos);
    write_text(folder.path() / "List_of_testing_videos.txt", "0 YouTube-real/00000.mp4\n");
    CHECK(testing::error_message([&] { import_celeb_df(folder.path(), 0.1, 5); }).find("is labelled fake (0)") !=
          std::string::npos);
}

TEST_CASE("DFDC Preview: dataset.json's sets, methods as subsets, the actor as identity; a malformed file is refused") {
    testing::TemporaryDirectory folder;
    const fs::path root = folder.path();
    std::string json = "{";
    int index = 0;
    for (std::string person : {"1000", "1001", "1002", "1003", "1004", "1005"}) {
        const std::string set = person == "1005" ? "test" : "train";
        const std::string real = "original_videos/" + person + "/" + person + "_A_001.mp4";
        const std::string fake = "method_" + std::string(index % 2 ? "B" : "A") + "/" + person + "/" + person + "_A/" +
                                 person + "_A_001_B_001.mp4";
        touch(root / real), touch(root / fake);
        json += std::string(index++ ? ", " : "") + "\"" + real + "\": {\"label\": \"real\", \"set\": \"" + set +
                "\"}, \"" + fake + "\": {\"label\": \"fake\", \"set\": \"" + set + "\"}";
    }
    write_text(root / "dataset.json", json + "}");
    VideoSplits splits = import_dfdc_preview(root, 0.2, 1);
    CHECK(splits.test.size() == 2);
    CHECK(splits.train.size() + splits.val.size() == 10);
    CHECK(!splits.val.empty());
    CHECK(identities_in_two_splits(splits).empty());
    for (const Video& video : splits.test) {
        CHECK(video.identities == std::vector<std::string>{"1005"});
        CHECK(video.subset == (video.label == "fake" ? "method_B" : ""));
    }
    write_text(root / "dataset.json", "{\"original_videos/1000/1000_A_001.mp4\": {\"label\": \"real\"}}");
    CHECK(testing::error_message([&] {
              import_dfdc_preview(root, 0.2, 1);
          }).find("dataset.json: \"original_videos/1000/1000_A_001.mp4\": expected") != std::string::npos);
    write_text(root / "dataset.json", "[1, 2");
    CHECK(testing::error_message([&] { import_dfdc_preview(root, 0.2, 1); }).find("dataset.json: invalid JSON") !=
          std::string::npos);
    write_text(root / "dataset.json", "{\"original_videos/9/9.mp4\": {\"label\": \"real\", \"set\": \"train\"}}");
    CHECK(testing::error_message([&] { import_dfdc_preview(root, 0.2, 1); }).find("9.mp4, which does not exist") !=
          std::string::npos);
}

TEST_CASE("split_by_identity: FF++ pairs stay whole; linked identities are drawn and mixed videos dropped") {
    // Pairs (a, b): reals a and b, fakes a_b and b_a; no identity may straddle the parts.
    std::vector<std::vector<std::string>> identities;
    std::vector<std::int64_t> labels;
    for (int pair = 0; pair < 10; ++pair) {
        std::string a = "p" + std::to_string(2 * pair), b = "p" + std::to_string(2 * pair + 1);
        for (auto names : {std::vector{a}, std::vector{b}}) identities.push_back(names), labels.push_back(0);
        for (auto names : {std::vector{a, b}, std::vector{b, a}}) identities.push_back(names), labels.push_back(1);
    }
    std::vector<data::SplitPart> parts = data::split_by_identity(identities, labels, 2, 0.2, 7, "test");
    std::map<std::string, std::set<data::SplitPart>> sides;
    std::int64_t held = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        CHECK(parts[i] != data::SplitPart::dropped); // pairs are separate components: nothing lost
        held += parts[i] == data::SplitPart::held_out;
        for (const std::string& name : identities[i]) sides[name].insert(parts[i]);
    }
    for (const auto& [name, in] : sides) CHECK(in.size() == 1);
    CHECK(held == 8); // 2 of the 10 pairs

    // Everyone linked to everyone: one component, so identities are drawn.
    identities.clear(), labels.clear();
    for (int a = 0; a < 6; ++a) {
        identities.push_back({"id" + std::to_string(a)}), labels.push_back(0);
        for (int b = 0; b < 6; ++b)
            if (a != b) identities.push_back({"id" + std::to_string(a), "id" + std::to_string(b)}), labels.push_back(1);
    }
    parts = data::split_by_identity(identities, labels, 2, 0.3, 3, "test");
    std::set<std::string> held_people, trained_people;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i] == data::SplitPart::held_out) held_people.insert(identities[i].begin(), identities[i].end());
        if (parts[i] == data::SplitPart::train) trained_people.insert(identities[i].begin(), identities[i].end());
    }
    // Every person has a real video of their own alone, so the drawn people are those held out; a
    // dropped video shows one of them and one of the others.
    for (std::size_t i = 0; i < parts.size(); ++i)
        if (parts[i] == data::SplitPart::dropped) {
            std::size_t drawn = 0;
            for (const std::string& name : identities[i]) drawn += held_people.contains(name);
            CHECK((drawn > 0 && drawn < identities[i].size()));
        }
    CHECK(!held_people.empty());
    for (const std::string& name : held_people) CHECK(!trained_people.contains(name));
    CHECK(std::count(parts.begin(), parts.end(), data::SplitPart::dropped) > 0);
    CHECK(testing::error_message([&] {
              data::split_by_identity(identities, labels, 2, 1.5, 3, "the split");
          }).find("the split: the held-out fraction") != std::string::npos);
}

TEST_CASE(
    "split_dataset_by_identity: FF++ real 000 and fake 000_003 on one side; a class with one video cannot be split") {
    data::Dataset dataset{{"real", "fake"}, {}};
    for (int pair = 0; pair < 5; ++pair) {
        std::string a = "00" + std::to_string(2 * pair), b = "00" + std::to_string(2 * pair + 1);
        for (int frame = 0; frame < 2; ++frame) {
            dataset.samples.push_back(
                {"r" + a + std::to_string(frame) + ".png", 0, "", a, a, a, std::to_string(frame), {}});
            dataset.samples.push_back(
                {"r" + b + std::to_string(frame) + ".png", 0, "", b, b, b, std::to_string(frame), {}});
            dataset.samples.push_back({"f" + a + std::to_string(frame) + ".png",
                                       1,
                                       "Deepfakes",
                                       a + "_" + b,
                                       a,
                                       a + " " + b,
                                       std::to_string(frame),
                                       {}});
        }
    }
    data::IdentitySplit split = data::split_dataset_by_identity(dataset, 0.2, 11);
    CHECK(split.train.size() + split.held_out.size() == dataset.size());
    std::set<std::string> train_people, held_people;
    for (const data::Sample& sample : split.train.samples)
        for (const std::string& name : data::identities_of(sample)) train_people.insert(name);
    for (const data::Sample& sample : split.held_out.samples)
        for (const std::string& name : data::identities_of(sample)) held_people.insert(name);
    CHECK(!held_people.empty());
    for (const std::string& name : held_people) CHECK(!train_people.contains(name));
    CHECK(split.videos.size() == 15);
    data::Dataset one_fake =
        dataset.filter([](const data::Sample& sample) { return sample.label == 0 || sample.video == "000_001"; });
    CHECK(testing::error_message([&] { data::split_dataset_by_identity(one_fake, 0.2, 11); }).find("cannot be split") !=
          std::string::npos);
}
