// clipft-experiment leave-one-out (thesis Table 7): for each manipulation of the training data, a
// model fully fine-tuned without it (in training and validation), then tested on it and on
// everything else.
#include "experiment.hpp"

#include <algorithm>

namespace clipft::experiments {

int leave_one_out(const Options& options) {
    Experiment experiment(options, "leave-one-out");
    const std::string descriptions = options.text("descriptions");
    const std::string set_name = experiment.description_set(descriptions).name;

    std::set<std::string> present;
    for (const data::Sample& sample :
         data::Dataset::open(options.text("train"), experiment.classes, experiment.class_from).samples)
        if (sample.label != 0 && !sample.subset.empty()) present.insert(sample.subset);
    if (present.size() < 2)
        fail(options.text("train"),
             ": leaving one manipulation out needs fakes of at least two (the subsets of fake/, or the "
             "manifest's subset column); found ",
             present.size());
    std::vector<std::string> left_out = experiment.names("subsets", {present.begin(), present.end()});
    for (const std::string& subset : left_out)
        if (!present.contains(subset))
            throw UsageError("--subsets: '" + subset + "' is not a manipulation of the training data");

    Results results(experiment);
    for (const std::string& subset : left_out) {
        std::string row = "CLIP (" + set_name + ") without " + subset;
        results.add(row, train_and_score(experiment, {row, descriptions, "full", "without-" + file_name_part(subset)},
                                         training_data(experiment, subset)));
    }

    // The thesis' table: each manipulation's AUC by the model that never saw it, from the first
    // test set holding that manipulation.
    Table table{"Table 7: AUC % on the manipulation left out of training", left_out, {}, {}};
    std::vector<double> values;
    for (std::size_t r = 0; r < left_out.size(); ++r) {
        double value = NAN;
        for (std::size_t t = 0; t < experiment.tests.size() && std::isnan(value); ++t) {
            std::vector<std::string> subsets = experiment.tests[t].fake_subsets();
            if (std::find(subsets.begin(), subsets.end(), left_out[r]) != subsets.end())
                value = 100 * results.subset_auc(r, t, left_out[r]);
        }
        values.push_back(value);
    }
    table.add_row("CLIP (" + set_name + ")", values);
    results.report("AUC % of each leave-one-out model on the whole test sets", {table});
    return 0;
}

} // namespace clipft::experiments
