// clipft-experiment datasets (thesis Tables 1 and 2): how many images (or videos) each dataset holds
// per split, class and manipulation, counted from its manifests.
#include "experiment.hpp"

namespace clipft::experiments {

int datasets(const Options& options) {
    if (!options.positional().empty()) throw UsageError("unexpected argument '" + options.positional().front() + "'");
    if (options.list("dataset").empty()) throw UsageError("--dataset NAME=PATH is required (one or more)");
    Table table{"Tables 1 and 2: images per dataset, split, class and manipulation", {}, {}, {}, 0};
    std::vector<std::map<std::string, double>> columns; // per column: row name -> count
    std::set<std::string> manipulations;
    for (const std::string& argument : options.list("dataset")) {
        const std::size_t equals = argument.find('=');
        const std::string name = equals == std::string::npos ? std::filesystem::path(argument).filename().string()
                                                             : argument.substr(0, equals);
        const std::filesystem::path path = equals == std::string::npos ? argument : argument.substr(equals + 1);
        // A folder of clipft dataset's (or one's own) train.csv, val.csv, test.csv; else one dataset folder or
        // manifest.
        std::vector<std::pair<std::string, std::filesystem::path>> splits;
        for (const char* split : {"train", "val", "test"})
            if (std::filesystem::is_regular_file(path / (std::string(split) + ".csv")))
                splits.emplace_back(split, path / (std::string(split) + ".csv"));
        if (splits.empty()) splits.emplace_back("all", path);
        for (const auto& [split, file] : splits) {
            const data::Dataset dataset = data::Dataset::open(file, {"real", "fake"}, false);
            std::map<std::string, double> counts{{"Real", 0}, {"Fake", 0}};
            for (const data::Sample& sample : dataset.samples) {
                counts[sample.label == 0 ? "Real" : "Fake"] += 1;
                if (sample.label == 1 && !sample.subset.empty())
                    counts[sample.subset] += 1, manipulations.insert(sample.subset);
            }
            table.columns.push_back(name + " " + split);
            columns.push_back(std::move(counts));
        }
    }
    std::vector<std::string> rows{"Real", "Fake"};
    rows.insert(rows.end(), manipulations.begin(), manipulations.end());
    for (const std::string& row : rows) {
        std::vector<double> values;
        for (const auto& counts : columns) values.push_back(counts.contains(row) ? counts.at(row) : 0.0);
        table.add_row(row == "Real" || row == "Fake" ? row : "  " + row, values);
    }
    table.print();
    const std::filesystem::path out = options.text("out");
    std::filesystem::create_directories(out);
    io::Json json = {{"experiment", "datasets"}, {"tables", io::Json::array({table.to_json()})}};
    io::write_file_atomically(out / "results.json", [&](io::FileWriter& writer) { writer.write(json.dump(1) + "\n"); });
    std::cout << "results: " << (out / "results.json").string() << "\n";
    return 0;
}

} // namespace clipft::experiments
