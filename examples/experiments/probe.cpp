// clipft-experiment probe: the UnivFD baselines (Ojha et al., CVPR 2023) on frozen CLIP: a linear
// probe (logistic regression) and kNN with k = 1, 5, 20 on the pretrained model's normalised image
// features of the training set, tested on each test set, in rows beside the thesis' tables. The
// features are cached in DIR/features-*.safetensors (heads/feature_cache.hpp), so a re-run encodes
// nothing again.
#include "experiment.hpp"

namespace clipft::experiments {

int probe(const Options& options) {
    Experiment experiment(options, "probe");
    const std::vector<std::int64_t> ks = experiment.whole_numbers("k", {"1", "5", "20"});
    auto model = experiment.load_model();
    const std::string hash = heads::model_hash(experiment.model_path);
    const heads::FeatureCacheOptions cache{32, 60, experiment.progress};
    auto features_of = [&](const data::Dataset& dataset, const std::string& name) {
        std::filesystem::path path = experiment.out / ("features-" + file_name_part(name) + ".safetensors");
        experiment.say("features of ", dataset.size(), " images of ", name, " into ", path.string());
        heads::compute_features(*model, hash, dataset, path, cache);
        return heads::FeatureSet::load(path);
    };
    data::Dataset train = data::Dataset::open(options.text("train"), experiment.classes, experiment.class_from);
    if (options.given("per-class")) train = train.balanced(options.integer("per-class"), experiment.seed);
    heads::FeatureSet train_set = features_of(train, "train");
    std::vector<heads::FeatureSet> tests;
    for (const TestSet& test : experiment.tests) tests.push_back(features_of(test.dataset, "test-" + test.name));
    auto scores_of = [&](const auto& head) {
        std::vector<std::vector<double>> scores;
        for (const heads::FeatureSet& test : tests)
            scores.push_back(eval::class_scores(head.probabilities(test.features), 1));
        return scores;
    };

    Results results(experiment);
    heads::LogisticRegressionOptions fit;
    io::Json details = io::Json::object();
    if (options.text("C") == "auto") {
        heads::RegularizationChoice choice = heads::choose_C(
            train_set, heads::default_C_grid(), options.number("validation-fraction"), experiment.seed, fit,
            [&](const heads::RegularizationTrial& trial) {
                experiment.say("C ", trial.C, ": validation cross-entropy ", trial.validation_cross_entropy);
            });
        fit.C = choice.C;
    } else {
        fit.C = options.number("C");
        if (!(fit.C > 0)) throw UsageError("--C must be a positive number or auto");
    }
    heads::LogisticRegressionFit linear = heads::fit_logistic_regression(train_set.features, train_set.labels, 2, fit);
    experiment.say("linear probe: C ", fit.C, ", ", linear.iterations, " L-BFGS iterations",
                   linear.converged ? "" : " (not converged)");
    char C[32];
    std::snprintf(C, sizeof C, "%g", fit.C);
    results.add(std::string("Linear probe (C=") + C + ")", scores_of(linear.probe));
    details["C"] = fit.C;
    details["iterations"] = linear.iterations;
    for (std::int64_t k : ks)
        results.add("kNN (k=" + std::to_string(k) + ")",
                    scores_of(heads::NearestNeighbors{train_set.features, train_set.labels, 2, k}));
    add_zero_shot_rows(experiment, results, experiment.names("zero-shot", {}));
    Table table = results.auc_table("UnivFD baselines: AUC % of heads on frozen CLIP features (" +
                                    std::to_string(train_set.labels.size()) + " training images)");
    std::vector<Table> tables{table};
    for (Table& subsets : results.subset_tables()) tables.push_back(std::move(subsets));
    report(experiment, tables, results.save_roc_plots(), details);
    return 0;
}

} // namespace clipft::experiments
