#pragma once
// The records of a training run and the files made from them, in its output folder:
//   metrics.jsonl   one JSON object per logged training window ("kind": "train") and per
//                   validation ("kind": "validation")
//   metrics.csv     one row per validation (epoch)
//   loss.svg        training loss (every window and each epoch's mean) and validation loss, per epoch
//   auc.svg         validation AUC per epoch
// Every file is replaced atomically (io/atomic_file.hpp), so an interrupted write leaves the
// previous version. The records are JSON so that a checkpoint keeps them as they are (TrainerState).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/atomic_file.hpp>
#include <clipft/io/json.hpp>
#include <clipft/plot/svg.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::train {

// One validation: a row of metrics.csv.
struct ValidationRecord {
    std::int64_t step = 0, epoch = 0;        // updates so far; the epoch, counted from 1
    double train_loss = NAN, loss = NAN;     // the epoch's mean training loss; the validation loss
    double auc = NAN, accuracy = NAN;        // NaN: not measured (a class missing; accuracy with two classes)
    double learning_rate = NAN, seconds = 0; // the last update's rate; training time of the whole run
    bool best = false;                       // the lowest validation loss so far
};

class TrainingLog {
public:
    // `log_every`: the updates per training window, named in the loss plot's legend.
    TrainingLog(std::filesystem::path folder, std::int64_t log_every)
        : folder_(std::move(folder)), log_every_(log_every) {}

    const std::vector<io::Json>& records() const { return records_; }

    // The mean loss of the training window that ended at update `step`.
    void add_training(std::int64_t step, std::int64_t epoch, double loss, double learning_rate) {
        records_.push_back(
            {{"kind", "train"}, {"step", step}, {"epoch", epoch}, {"loss", loss}, {"lr", learning_rate}});
    }

    void add_validation(const ValidationRecord& record) {
        records_.push_back({{"kind", "validation"},
                            {"step", record.step},
                            {"epoch", record.epoch},
                            {"train_loss", record.train_loss},
                            {"loss", record.loss},
                            {"auc", std::isnan(record.auc) ? io::Json() : io::Json(record.auc)},
                            {"lr", record.learning_rate},
                            {"best", record.best},
                            {"seconds", record.seconds}});
        if (!std::isnan(record.accuracy)) records_.back()["accuracy"] = record.accuracy;
    }

    // Replaces the records with those of a checkpoint, each checked first (`where` starts the
    // messages): on failure the log stays as it was.
    void replace_records(std::vector<io::Json> records, const std::string& where) {
        for (std::size_t i = 0; i < records.size(); ++i)
            check_record(records[i], where + "history record " + std::to_string(i + 1) + ": ");
        records_ = std::move(records);
    }

    // The validation AUC of `epoch` (counted from 1), or NaN when it has none.
    double validation_auc(std::int64_t epoch) const {
        double auc = NAN;
        for (const io::Json& record : records_)
            if (record.at("kind") == "validation" && record.at("epoch") == epoch && record.at("auc").is_number())
                auc = record.at("auc").get<double>();
        return auc;
    }

    // Writes the four files; `updates_per_epoch` places the training windows on the plots' epoch axis.
    void write(std::int64_t updates_per_epoch) const {
        std::string jsonl, csv = "epoch,step,train_loss,validation_loss,validation_auc,lr,seconds\n";
        for (const io::Json& record : records_) {
            jsonl += record.dump() + "\n";
            if (record.at("kind") != "validation") continue;
            std::ostringstream row;
            row << std::setprecision(9) << record.at("epoch").get<std::int64_t>() << ','
                << record.at("step").get<std::int64_t>() << ',' << number(record, "train_loss") << ','
                << number(record, "loss") << ','
                << (record.at("auc").is_number() ? std::to_string(record.at("auc").get<double>()) : "") << ','
                << number(record, "lr") << ',' << number(record, "seconds") << '\n';
            csv += row.str();
        }
        io::write_file_atomically(folder_ / "metrics.jsonl", [&](io::FileWriter& writer) { writer.write(jsonl); });
        io::write_file_atomically(folder_ / "metrics.csv", [&](io::FileWriter& writer) { writer.write(csv); });
        write_plots(double(updates_per_epoch));
    }

private:
    // A record's number; NaN for null, which is how JSON keeps a NaN (a diverged loss) in a checkpoint.
    static double number(const io::Json& record, const char* name) {
        const io::Json& value = record.at(name);
        return value.is_number() ? value.get<double>() : NAN;
    }

    static void check_record(const io::Json& record, const std::string& where) {
        if (!record.is_object() || !record.contains("kind") ||
            (record.at("kind") != "train" && record.at("kind") != "validation"))
            fail(where, record.dump(), " is not an object of kind \"train\" or \"validation\"");
        const bool validation = record.at("kind") == "validation";
        auto require = [&](const char* name, bool (*valid)(const io::Json&), const char* what) {
            if (!record.contains(name)) fail(where, "no '", name, "'; was it written by another version of clipft?");
            if (!valid(record.at(name))) fail(where, "'", name, "' is ", record.at(name).dump(), ", not ", what);
        };
        auto integer = [](const io::Json& value) { return value.is_number_integer(); };
        auto number_or_null = [](const io::Json& value) { return value.is_number() || value.is_null(); };
        require("step", integer, "a whole number");
        require("epoch", integer, "a whole number");
        require("loss", number_or_null, "a number");
        require("lr", number_or_null, "a number");
        if (!validation) return;
        require("train_loss", number_or_null, "a number");
        require("auc", number_or_null, "a number");
        require("seconds", number_or_null, "a number");
        require(
            "best", [](const io::Json& value) { return value.is_boolean(); }, "true or false");
        if (record.contains("accuracy")) require("accuracy", number_or_null, "a number");
    }

    void write_plots(double per_epoch) const {
        std::vector<double> epochs, train_losses, validation_losses, aucs, window_losses, window_epochs;
        for (const io::Json& record : records_) {
            if (record.at("kind") == "train") {
                window_epochs.push_back(double(record.at("step").get<std::int64_t>()) / per_epoch);
                window_losses.push_back(number(record, "loss"));
                continue;
            }
            epochs.push_back(double(record.at("epoch").get<std::int64_t>()));
            train_losses.push_back(number(record, "train_loss"));
            validation_losses.push_back(number(record, "loss"));
            aucs.push_back(number(record, "auc"));
        }
        plot::LinePlot loss;
        loss.title = "Group contrastive loss";
        loss.x_label = "epoch";
        loss.y_label = "loss";
        loss.add_series("training (every " + std::to_string(log_every_) + " updates)", window_epochs, window_losses);
        loss.add_series("training (epoch mean)", epochs, train_losses);
        loss.add_series("validation", epochs, validation_losses);
        loss.save(folder_ / "loss.svg");
        plot::LinePlot auc;
        auc.title = "Validation ROC-AUC";
        auc.x_label = "epoch";
        auc.y_label = "AUC";
        auc.y_range = plot::AxisRange{0, 1};
        auc.legend_corner = plot::LegendCorner::bottom_right;
        auc.add_series("validation", epochs, aucs);
        auc.save(folder_ / "auc.svg");
    }

    std::filesystem::path folder_;
    std::int64_t log_every_ = 10;
    std::vector<io::Json> records_;
};

} // namespace clipft::train
