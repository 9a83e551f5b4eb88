// The training log: metrics.jsonl holds every record, metrics.csv a row per validation, both plots
// are written, every write replaces the files whole, and a checkpoint's records are checked.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/train/training_log.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace clipft;
using clipft::testing::TemporaryDirectory;

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<std::string> fields_of(const std::string& row) {
    std::vector<std::string> fields;
    std::istringstream in(row + ",");
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    return fields;
}

std::string text_of(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> names_in(const std::filesystem::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

train::ValidationRecord validation(std::int64_t step, std::int64_t epoch, double train_loss, double loss, double auc,
                                   double accuracy, double learning_rate, double seconds, bool best) {
    train::ValidationRecord record;
    record.step = step;
    record.epoch = epoch;
    record.train_loss = train_loss;
    record.loss = loss;
    record.auc = auc;
    record.accuracy = accuracy;
    record.learning_rate = learning_rate;
    record.seconds = seconds;
    record.best = best;
    return record;
}

// Two epochs of four updates, windows of two: the second epoch's validation without an AUC, with an accuracy.
train::TrainingLog two_epochs(const std::filesystem::path& folder) {
    train::TrainingLog training_log(folder, 2);
    training_log.add_training(2, 1, 0.75, 1e-3);
    training_log.add_training(4, 1, 0.625, 1e-3);
    training_log.add_validation(validation(4, 1, 0.6875, 0.5, 0.75, NAN, 1e-3, 1.5, true));
    training_log.add_training(6, 2, 0.5, 5e-4);
    training_log.add_training(8, 2, 0.25, 5e-4);
    training_log.add_validation(validation(8, 2, 0.375, 0.625, NAN, 0.8, 5e-4, 3.25, false));
    return training_log;
}

} // namespace

TEST_CASE("a training log writes every record, a csv row per validation and both plots") {
    TemporaryDirectory folder;
    train::TrainingLog training_log = two_epochs(folder.path());
    training_log.write(4);
    CHECK(names_in(folder.path()) == std::vector<std::string>{"auc.svg", "loss.svg", "metrics.csv", "metrics.jsonl"});

    std::vector<std::string> jsonl = lines_of(folder / "metrics.jsonl");
    REQUIRE(jsonl.size() == 6);
    for (std::size_t i = 0; i < jsonl.size(); ++i)
        CHECK(io::parse_json(jsonl[i], "metrics.jsonl") == training_log.records()[i]);
    io::Json first = io::parse_json(jsonl[2], "metrics.jsonl"), second = io::parse_json(jsonl[5], "metrics.jsonl");
    CHECK(first.at("kind") == "validation");
    CHECK(first.at("auc").get<double>() == 0.75);
    CHECK(first.at("best") == true);
    CHECK_FALSE(first.contains("accuracy")); // two classes: no accuracy
    CHECK(second.at("auc").is_null());
    CHECK(second.at("accuracy").get<double>() == 0.8);
    CHECK(io::parse_json(jsonl[0], "metrics.jsonl") ==
          io::Json{{"kind", "train"}, {"step", 2}, {"epoch", 1}, {"loss", 0.75}, {"lr", 1e-3}});

    std::vector<std::string> csv = lines_of(folder / "metrics.csv");
    REQUIRE(csv.size() == 3);
    CHECK(csv[0] == "epoch,step,train_loss,validation_loss,validation_auc,lr,seconds");
    std::vector<std::string> row = fields_of(csv[1]);
    REQUIRE(row.size() == 7);
    CHECK(row[0] == "1");
    CHECK(row[1] == "4");
    CHECK(std::stod(row[2]) == 0.6875);
    CHECK(std::stod(row[3]) == 0.5);
    CHECK(std::stod(row[4]) == 0.75);
    CHECK(std::stod(row[5]) == 1e-3);
    CHECK(std::stod(row[6]) == 1.5);
    row = fields_of(csv[2]);
    REQUIRE(row.size() == 7);
    CHECK(row[0] == "2");
    CHECK(row[4].empty()); // no AUC
    CHECK(std::stod(row[3]) == 0.625);

    std::string loss = text_of(folder / "loss.svg"), auc = text_of(folder / "auc.svg");
    for (const char* part :
         {"Group contrastive loss", "training (every 2 updates)", "training (epoch mean)", "validation", "</svg>"})
        CHECK_MESSAGE(loss.find(part) != std::string::npos, part);
    CHECK(loss.find("<polyline") != std::string::npos);
    CHECK(auc.find("Validation ROC-AUC") != std::string::npos);
    CHECK(auc.find("</svg>") != std::string::npos);

    CHECK(training_log.validation_auc(1) == 0.75);
    CHECK(std::isnan(training_log.validation_auc(2)));
    CHECK(std::isnan(training_log.validation_auc(3)));
}

TEST_CASE("a training log's write replaces the files whole, and a failed one names the file") {
    TemporaryDirectory folder;
    two_epochs(folder.path()).write(4);
    // A run resumed from the first epoch's checkpoint: its records replace the longer files.
    train::TrainingLog resumed(folder.path(), 2);
    const train::TrainingLog full = two_epochs(folder.path());
    std::vector<io::Json> first_epoch(full.records().begin(), full.records().begin() + 3);
    resumed.replace_records(first_epoch, "checkpoint: ");
    resumed.write(4);
    CHECK(lines_of(folder / "metrics.jsonl").size() == 3);
    CHECK(lines_of(folder / "metrics.csv").size() == 2);
    CHECK(names_in(folder.path()) ==
          std::vector<std::string>{"auc.svg", "loss.svg", "metrics.csv", "metrics.jsonl"}); // no temporary file left

    // auc.svg cannot be replaced (a folder with a file in it is in its place): the error names it,
    // and no temporary file is left behind.
    std::filesystem::remove(folder / "auc.svg");
    std::filesystem::create_directory(folder / "auc.svg");
    std::ofstream(folder / "auc.svg" / "keep") << "x";
    std::string message = testing::error_message([&] { resumed.write(4); });
    CHECK_MESSAGE(message.find("auc.svg") != std::string::npos, message);
    CHECK(names_in(folder.path()) == std::vector<std::string>{"auc.svg", "loss.svg", "metrics.csv", "metrics.jsonl"});
    CHECK(std::filesystem::exists(folder / "auc.svg" / "keep"));
}

TEST_CASE("a checkpoint's records are checked before they replace the log") {
    TemporaryDirectory folder;
    train::TrainingLog training_log = two_epochs(folder.path());
    std::vector<io::Json> records = training_log.records();
    records[2].erase("loss");
    std::string message =
        testing::error_message([&] { training_log.replace_records(records, "run/checkpoint.safetensors: "); });
    CHECK_MESSAGE(message.find("run/checkpoint.safetensors: history record 3: no 'loss'") != std::string::npos,
                  message);
    records = training_log.records();
    records[0]["step"] = "two";
    message = testing::error_message([&] { training_log.replace_records(records, ""); });
    CHECK_MESSAGE(message.find("history record 1: 'step' is \"two\", not a whole number") != std::string::npos,
                  message);
    message = testing::error_message([&] { training_log.replace_records({io::Json{{"kind", "test"}}}, ""); });
    CHECK_MESSAGE(message.find("history record 1:") != std::string::npos, message);
    CHECK(training_log.records().size() == 6); // unchanged by the failures

    // JSON keeps a NaN (a diverged loss) as null: such a record is read back, and written as nan.
    records = training_log.records();
    records[2]["train_loss"] = nullptr;
    training_log.replace_records(records, "");
    training_log.write(4);
    CHECK(fields_of(lines_of(folder / "metrics.csv")[1])[2] == "nan");
}
