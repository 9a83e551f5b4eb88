#pragma once
// What the thesis' experiments (examples/experiments/*.cpp) share: their options, the test sets,
// the pretrained model loaded afresh for every configuration, zero-shot scoring, fine-tuning one
// configuration and scoring it, and tables laid out like the thesis' (one row per configuration,
// one column per test set, then their average), printed and written to DIR/results.json.
#include "../clipft/class_from.hpp"
#include "../clipft/device_options.hpp"
#include "../clipft/options.hpp"
#include "../clipft/recipe.hpp"

#include <clipft/clip.hpp>
#include <clipft/data/identity_split.hpp>
#include <clipft/io/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

namespace clipft::experiments {

using cli::Command;
using cli::Options;
using cli::OptionSpec;
using cli::UsageError;

int datasets(const Options& options);
int full(const Options& options);
int leave_one_out(const Options& options);
int probe(const Options& options);
int peft(const Options& options);
int reset_vision(const Options& options);
int similarity(const Options& options);
int top_k(const Options& options);
int wise_ft(const Options& options);
int zero_shot(const Options& options);

// --classes: real is class 0 and every other class a kind of fake (by default the one class fake;
// with --class-from subset e.g. real,FaceSwap,SelfBlended); an image's score is its probability of
// being fake, 1 - P(real) (with two classes P(fake) itself). The description sets hold a
// <class>.txt file per class.

// ---------------------------------------------------------------------------------------------
// Options

inline std::vector<OptionSpec> options_of(std::initializer_list<std::vector<OptionSpec>> parts) {
    std::vector<OptionSpec> all;
    for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
    return all;
}

// The options every experiment takes.
inline std::vector<OptionSpec> common_options() {
    using Kind = OptionSpec::Kind;
    return options_of({{{"model", Kind::value},
                        {"vocab", Kind::value, ""},
                        {"out", Kind::value},
                        {"seed", Kind::value, "0"},
                        {"threads", Kind::value, ""},
                        {"quiet", Kind::flag, ""},
                        {"classes", Kind::value, "real,fake"},
                        {"class-from", Kind::value, "label"}},
                       cli::device_option_specs()});
}

// The options of the experiments that score test sets.
inline std::vector<OptionSpec> test_options() {
    using Kind = OptionSpec::Kind;
    return {{"test", Kind::list, ""}, {"test-per-class", Kind::value, ""}};
}

// The fine-tuning experiments': their data, and the thesis' recipe by default (clipft finetune's).
inline std::vector<OptionSpec> training_options() {
    using Kind = OptionSpec::Kind;
    return options_of({{{"train", Kind::value},
                        {"validation", Kind::value, ""},
                        {"validation-fraction", Kind::value, "0.1"},
                        {"per-class", Kind::value, ""},
                        {"seeds", Kind::value, ""}},
                       cli::recipe_option_specs()});
}

inline const std::string common_usage =
    "  common:    --model PATH (a HuggingFace CLIP directory or .safetensors; its folder's vocab.json and\n"
    "             merges.txt, or --vocab PATH)  --out DIR  --seed 0  --threads N  --quiet\n"
    "             --classes real,fake (real first; more classes, e.g. real,FaceSwap,SelfBlended with --class-from\n"
    "             subset: each subset its own class, groups of every class, scores 1 - P(real))\n" +
    std::string(cli::device_options_help);

inline const std::string test_usage =
    "  testing:   --test [NAME=]DIR|CSV... (one table column each, named NAME or by the folder)  --test-per-class N\n";

inline const std::string training_usage =
    "  training:  --train DIR|CSV  --validation DIR|CSV (else --validation-fraction 0.1 of --train, split by video)\n"
    "             --per-class N (training images per class, shared among the manipulations)\n"
    "             --seeds 1,2,3 (each configuration trained once per seed: a table of every seed's AUC %, and the\n"
    "             configuration's row from the seed of the lowest validation loss)\n" +
    std::string(cli::recipe_options_help);

// ---------------------------------------------------------------------------------------------
// Test sets

struct TestSet {
    std::string name; // its table column
    data::Dataset dataset;

    // 1 for a fake of any kind (every class but real, class 0).
    std::vector<int> labels() const {
        std::vector<int> fake;
        for (std::int64_t label : dataset.labels()) fake.push_back(label != 0);
        return fake;
    }

    // The manipulations: the subsets that fakes belong to, sorted.
    std::vector<std::string> fake_subsets() const {
        std::set<std::string> names;
        for (const data::Sample& sample : dataset.samples)
            if (sample.label != 0 && !sample.subset.empty()) names.insert(sample.subset);
        return {names.begin(), names.end()};
    }

    // AUC of the fakes of `subset` against every real image, as per-manipulation AUCs are reported
    // (the reals count whatever folder they sit in, so a real video's folder is no subset here).
    double subset_auc(const std::vector<double>& scores, const std::string& subset) const {
        std::vector<int> labels;
        std::vector<double> kept;
        for (std::size_t i = 0; i < dataset.size(); ++i) {
            const data::Sample& sample = dataset.samples[i];
            if (sample.label != 0 && sample.subset != subset) continue;
            labels.push_back(sample.label != 0);
            kept.push_back(scores[i]);
        }
        return eval::roc_auc(labels, kept);
    }
};

// A name usable in a file name: letters, digits, '.', '-', '_' and '+' kept, anything else '_'.
inline std::string file_name_part(const std::string& name) {
    std::string safe;
    for (unsigned char c : name)
        safe += std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '+' ? char(c) : '_';
    return safe;
}

// ---------------------------------------------------------------------------------------------
// The experiment's setting

class Experiment {
public:
    const Options& options;
    std::string name;
    std::filesystem::path model_path, vocabulary, out;
    std::uint64_t seed = 0;
    std::vector<std::uint64_t> seeds; // --seeds, else --seed alone
    bool progress = true;
    std::vector<std::string> classes;
    data::ClassFrom class_from = data::ClassFrom::label;
    Device device;
    Precision precision = Precision::float32;
    std::vector<TestSet> tests;
    // With several --seeds: every seed's scores of each configuration, and which seed each row took.
    mutable std::vector<std::pair<std::string, std::vector<std::vector<double>>>> seed_rows;
    mutable io::Json chosen_seeds = io::Json::object();

    Experiment(const Options& given, std::string experiment_name) : options(given), name(std::move(experiment_name)) {
        if (!options.positional().empty())
            throw UsageError("unexpected argument '" + options.positional().front() + "'");
        if (options.given("threads")) set_num_threads(int(options.integer("threads")));
        model_path = options.text("model");
        vocabulary =
            options.given("vocab") ? std::filesystem::path(options.text("vocab")) : text::model_vocabulary(model_path);
        out = options.text("out");
        seed = std::uint64_t(options.integer("seed"));
        seeds = {seed};
        if (options.given("seeds")) {
            seeds.clear();
            std::istringstream list(options.text("seeds"));
            for (std::string item; std::getline(list, item, ',');) {
                if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 19)
                    throw UsageError("--seeds expects seeds (whole numbers >= 0) separated by commas, got '" +
                                     options.text("seeds") + "'");
                seeds.push_back(std::stoull(item));
            }
            if (seeds.empty()) throw UsageError("--seeds expects at least one seed");
        }
        progress = !options.flag("quiet");
        std::istringstream names(options.text("classes"));
        for (std::string class_name; std::getline(names, class_name, ',');)
            if (!class_name.empty()) classes.push_back(class_name);
        if (classes.size() < 2)
            throw UsageError("--classes needs at least two class names, real first, e.g. real,fake");
        class_from = cli::class_source(options);
        device = cli::device_option(options);
        precision = cli::precision_option(options, device);
        std::vector<std::string> known = options.names();
        // A bad --schedule fails before any data or model is read (the peak comes with the descriptions).
        if (std::find(known.begin(), known.end(), "schedule") != known.end()) cli::schedule_option(options, 0);
        if (std::find(known.begin(), known.end(), "test") != known.end()) { // the experiment scores test sets
            for (const std::string& argument : options.list("test")) tests.push_back(open_test_set(argument));
            if (tests.empty()) throw UsageError("--test is required: one or more dataset folders or manifests");
        }
        std::filesystem::create_directories(out);
    }

    // A list option's values, or `defaults` when it was not given.
    std::vector<std::string> names(const std::string& option, std::vector<std::string> defaults) const {
        return options.given(option) ? options.list(option) : defaults;
    }

    // A list option of whole numbers >= 1 (e.g. --k 1 5 20), or `defaults` when it was not given.
    std::vector<std::int64_t> whole_numbers(const std::string& option, std::vector<std::string> defaults) const {
        std::vector<std::int64_t> numbers;
        for (const std::string& text : names(option, std::move(defaults))) {
            std::size_t used = 0;
            long long number = 0;
            try {
                number = std::stoll(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != text.size() || number < 1)
                throw UsageError("--" + option + " expects whole numbers >= 1, got '" + text + "'");
            numbers.push_back(number);
        }
        return numbers;
    }

    // The pretrained weights, loaded afresh so that every configuration starts from them.
    // On the CPU: fine-tuning applies its freeze policy first, then moves it (to_device).
    std::unique_ptr<models::CLIP<float>> load_model() const { return models::load_clip<float>(model_path); }
    void to_device(models::CLIP<float>& model) const { model.to(device); }

    text::DescriptionSet description_set(const std::string& name_or_folder) const {
        return text::DescriptionSet::load(text::find_description_set(name_or_folder), classes);
    }

    text::TokenizedDescriptions tokenize(const text::DescriptionSet& set, const models::CLIP<float>& model) const {
        return text::TokenizedDescriptions::from_texts(set.descriptions, text::Tokenizer::load(vocabulary),
                                                       model.config.text.context_length);
    }

    // Progress lines go to stderr, so that stdout holds the tables alone.
    template <typename... Parts> void say(const Parts&... parts) const {
        if (!progress) return;
        std::ostringstream line;
        line << "clipft-experiment " << name << ": ";
        (line << ... << parts);
        std::cerr << line.str() << "\n";
    }

private:
    // "[NAME=]DIR|CSV"; without a name, the folder's name (a manifest's folder for manifest.csv).
    TestSet open_test_set(const std::string& argument) const {
        std::size_t equals = argument.find('=');
        bool named = equals != std::string::npos && equals > 0 && argument.find('/') > equals;
        std::filesystem::path path = named ? argument.substr(equals + 1) : argument;
        std::filesystem::path plain = path.has_filename() ? path : path.parent_path();
        std::string test_name = named                        ? argument.substr(0, equals)
                                : plain.stem() == "manifest" ? plain.parent_path().filename().string()
                                                             : plain.stem().string();
        for (const TestSet& test : tests)
            if (test.name == test_name)
                throw UsageError("two test sets are called '" + test_name + "'; name them with --test NAME=DIR");
        data::Dataset dataset = data::Dataset::open(path, classes, class_from);
        if (options.given("test-per-class")) dataset = dataset.balanced(options.integer("test-per-class"), seed);
        return {test_name.empty() ? "test" : test_name, std::move(dataset)};
    }
};

// ---------------------------------------------------------------------------------------------
// Scoring

// Each test set's image embeddings under `model`: encoded once, then scored with any descriptions and rule.
inline std::vector<Tensor<float>> encode_test_sets(const Experiment& experiment, const models::CLIP<float>& model) {
    AutocastGuard autocast(experiment.precision);
    std::vector<Tensor<float>> embeddings;
    for (const TestSet& test : experiment.tests) {
        experiment.say("encoding ", test.dataset.size(), " images of test set ", test.name);
        embeddings.push_back(eval::encode_images(
            model, data::image_set(test.dataset, {.size = model.config.vision.image_size}), 32, experiment.progress));
    }
    return embeddings;
}

// P(fake) of every image of every test set, [test][image]: with two classes P(class 1), with more
// 1 - P(real), the probability of any kind of fake.
inline std::vector<std::vector<double>> fake_scores(const std::vector<Tensor<float>>& image_embeddings,
                                                    const Tensor<float>& description_embeddings,
                                                    const text::TokenizedDescriptions& table, float logit_scale,
                                                    const eval::ScoringOptions& rule = {}) {
    std::vector<std::vector<double>> scores;
    for (const Tensor<float>& images : image_embeddings) {
        Tensor<float> probabilities =
            eval::class_probabilities(images, description_embeddings, table.counts, logit_scale, rule);
        std::vector<double> fake = eval::class_scores(probabilities, probabilities.size(1) == 2 ? 1 : 0);
        if (probabilities.size(1) > 2)
            for (double& score : fake) score = 1 - score;
        scores.push_back(std::move(fake));
    }
    return scores;
}

// The test sets scored by `model` with `table`'s descriptions (mean of each class's logits).
inline std::vector<std::vector<double>> score_test_sets(const Experiment& experiment, const models::CLIP<float>& model,
                                                        const text::TokenizedDescriptions& table) {
    std::vector<Tensor<float>> images = encode_test_sets(experiment, model);
    AutocastGuard autocast(experiment.precision);
    return fake_scores(images, eval::encode_descriptions(model, table), table, model.logit_scale.item());
}

// ---------------------------------------------------------------------------------------------
// Tables

struct Table {
    std::string title;
    std::vector<std::string> columns;
    std::vector<std::string> rows;
    std::vector<std::vector<double>> values; // [row][column]; NaN prints as "-"
    int decimals = 2;

    void add_row(std::string name, std::vector<double> row) {
        if (row.size() != columns.size())
            fail("Table '", title, "': row '", name, "' has ", row.size(), " values for ", columns.size(), " columns");
        rows.push_back(std::move(name));
        values.push_back(std::move(row));
    }

    // The thesis' last column: each row's mean over the other columns.
    void add_average_column() {
        columns.push_back("AVG");
        for (auto& row : values) {
            double sum = 0;
            for (double value : row) sum += value;
            row.push_back(sum / double(row.size()));
        }
    }

    void print(std::ostream& out = std::cout) const {
        std::size_t first = 6; // "Method"
        for (const std::string& row : rows) first = std::max(first, row.size());
        std::vector<std::size_t> widths;
        for (const std::string& column : columns) widths.push_back(std::max<std::size_t>(column.size(), 7));
        auto pad = [](const std::string& text, std::size_t width, bool left) {
            std::string padding(width > text.size() ? width - text.size() : 0, ' ');
            return left ? text + padding : padding + text;
        };
        out << title << "\n" << pad("Method", first, true);
        for (std::size_t c = 0; c < columns.size(); ++c) out << "  " << pad(columns[c], widths[c], false);
        out << "\n";
        for (std::size_t r = 0; r < rows.size(); ++r) {
            out << pad(rows[r], first, true);
            for (std::size_t c = 0; c < columns.size(); ++c) {
                char number[32];
                std::snprintf(number, sizeof number, "%.*f", decimals, values[r][c]);
                out << "  " << pad(std::isfinite(values[r][c]) ? number : "-", widths[c], false);
            }
            out << "\n";
        }
    }

    io::Json to_json() const {
        io::Json json_rows = io::Json::array();
        for (std::size_t r = 0; r < rows.size(); ++r) {
            io::Json row_values = io::Json::array();
            for (double value : values[r]) row_values.push_back(std::isfinite(value) ? io::Json(value) : io::Json());
            json_rows.push_back({{"name", rows[r]}, {"values", row_values}});
        }
        return {{"title", title}, {"columns", columns}, {"rows", json_rows}};
    }
};

// Prints the tables and the files written, and writes DIR/results.json: the tables, the plots' paths
// and `details` (the experiment's own numbers).
inline void report(const Experiment& experiment, const std::vector<Table>& tables,
                   const std::vector<std::filesystem::path>& plots, io::Json details = io::Json::object()) {
    io::Json json_tables = io::Json::array(), json_plots = io::Json::array();
    for (const Table& table : tables) {
        std::cout << "\n";
        table.print();
        json_tables.push_back(table.to_json());
    }
    std::cout << "\n";
    for (const std::filesystem::path& plot : plots) {
        std::cout << "plot: " << plot.string() << "\n";
        json_plots.push_back(plot.string());
    }
    const std::filesystem::path results = experiment.out / "results.json";
    io::Json json = {{"experiment", experiment.name},
                     {"model", experiment.model_path.string()},
                     {"seed", experiment.seed},
                     {"tables", json_tables},
                     {"plots", json_plots}};
    if (!details.empty()) json["details"] = std::move(details);
    io::write_file_atomically(results, [&](io::FileWriter& writer) { writer.write(json.dump(1) + "\n"); });
    std::cout << "results: " << results.string() << "\n";
}

// The P(fake) scores of every configuration on every test set, and the AUC tables and ROC plots made of them.
class Results {
public:
    struct Row {
        std::string name;
        std::vector<std::vector<double>> scores; // [test][image]
    };

    explicit Results(const Experiment& experiment) : experiment_(experiment) {}

    void add(std::string name, std::vector<std::vector<double>> scores) {
        rows_.push_back({std::move(name), std::move(scores)});
    }
    const std::vector<Row>& rows() const { return rows_; }

    double auc(std::size_t row, std::size_t test) const {
        return eval::roc_auc(experiment_.tests[test].labels(), rows_[row].scores[test]);
    }
    double subset_auc(std::size_t row, std::size_t test, const std::string& subset) const {
        return experiment_.tests[test].subset_auc(rows_[row].scores[test], subset);
    }

    // AUC % per configuration (rows) and test set (columns), with the average when there are several.
    Table auc_table(std::string title) const {
        Table table{std::move(title), {}, {}, {}};
        for (const TestSet& test : experiment_.tests) table.columns.push_back(test.name);
        for (std::size_t r = 0; r < rows_.size(); ++r) {
            std::vector<double> values;
            for (std::size_t t = 0; t < experiment_.tests.size(); ++t) values.push_back(100 * auc(r, t));
            table.add_row(rows_[r].name, values);
        }
        if (experiment_.tests.size() > 1) table.add_average_column();
        return table;
    }

    // Precision % (at the threshold 0.5 on P(fake)) of the fakes of `subset` against every real image.
    double subset_precision(std::size_t row, std::size_t test, const std::string& subset) const {
        std::vector<int> labels;
        std::vector<double> kept;
        const TestSet& set = experiment_.tests[test];
        for (std::size_t i = 0; i < set.dataset.size(); ++i) {
            const data::Sample& sample = set.dataset.samples[i];
            const bool fake = sample.label != 0; // with more classes than two, every class but real
            if (fake && sample.subset != subset) continue;
            labels.push_back(fake ? 1 : 0);
            kept.push_back(rows_[row].scores[test][i]);
        }
        return eval::binary_metrics(labels, kept, 0.5).precision;
    }

    // For each test set with manipulations: AUC % and precision % of each of them (fakes of one
    // manipulation against every real image), laid out like the thesis' Table 13.
    std::vector<Table> subset_tables() const {
        std::vector<Table> tables;
        for (std::size_t t = 0; t < experiment_.tests.size(); ++t) {
            std::vector<std::string> subsets = experiment_.tests[t].fake_subsets();
            if (subsets.empty()) continue;
            Table table{"AUC % per manipulation of test set " + experiment_.tests[t].name +
                            ", with precision % (Table 13)",
                        {},
                        {},
                        {}};
            for (const std::string& subset : subsets)
                table.columns.insert(table.columns.end(), {subset + " AUC", subset + " Prec"});
            for (std::size_t r = 0; r < rows_.size(); ++r) {
                std::vector<double> values;
                for (const std::string& subset : subsets)
                    values.insert(values.end(), {100 * subset_auc(r, t, subset), 100 * subset_precision(r, t, subset)});
                table.add_row(rows_[r].name, values);
            }
            tables.push_back(std::move(table));
        }
        return tables;
    }

    // DIR/roc-<test>.svg: one ROC curve per configuration.
    std::vector<std::filesystem::path> save_roc_plots() const {
        std::vector<std::filesystem::path> paths;
        for (std::size_t t = 0; t < experiment_.tests.size(); ++t) {
            plot::LinePlot plot;
            std::vector<int> labels = experiment_.tests[t].labels();
            for (std::size_t r = 0; r < rows_.size(); ++r) {
                eval::RocCurve curve = eval::roc_curve(labels, rows_[r].scores[t]);
                char auc[32];
                std::snprintf(auc, sizeof auc, " (AUC %.2f %%)", 100 * this->auc(r, t));
                if (r == 0)
                    plot = eval::roc_plot(curve, rows_[r].name + auc);
                else
                    plot.add_series(rows_[r].name + auc, curve.false_positive_rate, curve.true_positive_rate);
            }
            plot.title = "ROC on " + experiment_.tests[t].name;
            paths.push_back(experiment_.out / ("roc-" + file_name_part(experiment_.tests[t].name) + ".svg"));
            plot.save(paths.back());
        }
        return paths;
    }

    // The whole report of a table of configurations: AUC % per test set (`title`), per manipulation, ROC plots.
    void report(const std::string& title, std::vector<Table> leading = {}) const {
        leading.push_back(auc_table(title));
        for (Table& table : subset_tables()) leading.push_back(std::move(table));
        io::Json details = io::Json::object();
        if (!experiment_.seed_rows.empty()) { // --seeds: every seed's row
            Results seeds(experiment_);
            for (const auto& [name, scores] : experiment_.seed_rows) seeds.add(name, scores);
            leading.push_back(seeds.auc_table(
                "AUC % of every seed (each configuration's row above: the seed of the lowest validation loss)"));
            details["seeds"] = experiment_.chosen_seeds;
        }
        experiments::report(experiment_, leading, save_roc_plots(), details);
    }

private:
    const Experiment& experiment_;
    std::vector<Row> rows_;
};

// Rows "CLIP (zero-shot - SET)" for each description set: the pretrained model, no training (Table 3).
inline void add_zero_shot_rows(const Experiment& experiment, Results& results, const std::vector<std::string>& sets) {
    if (sets.empty()) return;
    auto model = experiment.load_model();
    experiment.to_device(*model);
    std::vector<Tensor<float>> images = encode_test_sets(experiment, *model);
    AutocastGuard autocast(experiment.precision);
    for (const std::string& name : sets) {
        text::DescriptionSet set = experiment.description_set(name);
        text::TokenizedDescriptions table = experiment.tokenize(set, *model);
        results.add("CLIP (zero-shot - " + set.name + ")",
                    fake_scores(images, eval::encode_descriptions(*model, table), table, model->logit_scale.item()));
    }
}

// ---------------------------------------------------------------------------------------------
// Fine-tuning

struct TrainingData {
    data::Dataset train, validation;
};

// --train and --validation (else a split of --train by video), without the images of subset
// `left_out` when given (leave-one-manipulation-out: neither training nor validation may see it; it
// goes before the split so that the validation part holds fakes of the other manipulations), then
// at most --per-class training images per class.
inline TrainingData training_data(const Experiment& experiment, const std::string& left_out = "") {
    const Options& options = experiment.options;
    auto open = [&](const std::string& option) {
        data::Dataset dataset = data::Dataset::open(options.text(option), experiment.classes, experiment.class_from);
        if (left_out.empty()) return dataset;
        dataset = dataset.without_subset(left_out);
        for (std::size_t c = 0; c < experiment.classes.size(); ++c)
            if (dataset.count_per_class()[c] == 0)
                fail(options.text(option), ": without ", left_out, " no ", experiment.classes[c],
                     " image is left; leaving a manipulation out "
                     "needs the others in --",
                     option);
        return dataset;
    };
    TrainingData data;
    data.train = open("train");
    if (options.given("validation"))
        data.validation = open("validation");
    else {
        data::IdentitySplit split =
            data::split_dataset_by_identity(data.train, options.number("validation-fraction"), experiment.seed);
        data.train = std::move(split.train), data.validation = std::move(split.held_out);
    }
    if (options.given("per-class")) data.train = data.train.balanced(options.integer("per-class"), experiment.seed);
    return data;
}

// One fine-tuning run: a table row's name, its descriptions, what it trains, its folder under DIR.
struct Configuration {
    std::string row;
    std::string descriptions;
    std::string freeze;
    std::string folder;
    // What else the run trains, given the frozen model and its descriptions (adapters, prompts), or nothing.
    std::function<void(models::CLIP<float>&, const text::TokenizedDescriptions&, Generator&)> prepare = {};
};

struct FineTuned {
    std::unique_ptr<models::CLIP<float>> model; // holding the weights of the lowest validation loss
    text::TokenizedDescriptions descriptions;
    train::TrainingSummary summary = {};
};

// The pretrained model, loaded afresh, with `configuration`'s freeze policy, fine-tuned on `data`
// with its descriptions by the thesis' recipe (or the options' knobs), drawing from `seed`.
inline FineTuned fine_tune(const Experiment& experiment, const Configuration& configuration, const TrainingData& data,
                           std::uint64_t seed) {
    const Options& options = experiment.options;
    auto model = experiment.load_model();
    text::TokenizedDescriptions table =
        experiment.tokenize(experiment.description_set(configuration.descriptions), *model);
    Generator generator(seed);
    train::apply_freeze_policy(train::FreezePolicy::parse(configuration.freeze), *model, generator);
    if (configuration.prepare) configuration.prepare(*model, table, generator);
    experiment.to_device(*model);

    const std::int64_t images = options.integer("batch"), k = std::int64_t(experiment.classes.size());
    if (images < k || images % k != 0)
        throw UsageError("--batch (images) must be a multiple of the " + std::to_string(k) +
                         " classes: it holds groups of one image of each");

    train::TrainerOptions trainer = cli::recipe_trainer_options(options, table);
    trainer.sampler = {.k = k, .groups_per_batch = images / k, .seed = seed};
    trainer.precision = experiment.precision;
    trainer.positive_class = k - 1;
    trainer.output_dir = experiment.out / configuration.folder;
    if (experiment.seeds.size() > 1) trainer.output_dir /= "seed-" + std::to_string(seed);
    trainer.progress = experiment.progress;

    experiment.say("fine-tuning ", configuration.row, ": ", data.train.size(), " training and ", data.validation.size(),
                   " validation images, ", table.token_ids.size(0), " descriptions, freeze ", configuration.freeze,
                   ", lr ", trainer.schedule.peak, ", into ", trainer.output_dir.string());
    const image::PreprocessOptions preprocess{.size = model->config.vision.image_size};
    train::Trainer run(*model, data::image_set(data.train, preprocess), data::image_set(data.validation, preprocess),
                       table, trainer);
    train::TrainingSummary summary = run.run();
    experiment.say(configuration.row, ": best epoch ", summary.best_epoch + 1, " of ", summary.epochs,
                   ", validation loss ", summary.best_validation_loss);
    return {std::move(model), std::move(table), summary};
}

// fine_tune once per seed, then the test sets scored by the fine-tuned model with the same
// descriptions: the scores of the seed with the lowest validation loss (with several seeds, every
// seed's go to experiment.seed_rows).
inline std::vector<std::vector<double>> train_and_score(const Experiment& experiment,
                                                        const Configuration& configuration, const TrainingData& data) {
    std::vector<std::vector<double>> best;
    double best_loss = INFINITY;
    io::Json losses = io::Json::object();
    for (std::uint64_t seed : experiment.seeds) {
        FineTuned tuned = fine_tune(experiment, configuration, data, seed);
        std::vector<std::vector<double>> scores = score_test_sets(experiment, *tuned.model, tuned.descriptions);
        if (experiment.seeds.size() == 1) return scores;
        losses[std::to_string(seed)] = tuned.summary.best_validation_loss;
        experiment.seed_rows.emplace_back(configuration.row + " (seed " + std::to_string(seed) + ")", scores);
        if (best.empty() || tuned.summary.best_validation_loss < best_loss) {
            best_loss = tuned.summary.best_validation_loss, best = std::move(scores);
            experiment.chosen_seeds[configuration.row] = {{"seed", seed}, {"validation_losses", losses}};
        }
    }
    experiment.chosen_seeds[configuration.row]["validation_losses"] = losses;
    return best;
}

// Table 5 and Table 6: each description set fine-tuned in turn from the pretrained weights with
// `freeze`, after optional zero-shot rows (--zero-shot SET...) for comparison.
inline int description_sets_table(const Experiment& experiment, const std::string& freeze,
                                  const std::vector<std::string>& default_sets, const std::string& title) {
    Results results(experiment);
    add_zero_shot_rows(experiment, results, experiment.names("zero-shot", {}));
    TrainingData data = training_data(experiment);
    for (const std::string& name : experiment.names("descriptions", default_sets)) {
        std::string set_name = experiment.description_set(name).name;
        results.add(
            "CLIP (" + set_name + ")",
            train_and_score(experiment, {"CLIP (" + set_name + ")", name, freeze, file_name_part(set_name)}, data));
    }
    results.report(title);
    return 0;
}

} // namespace clipft::experiments
