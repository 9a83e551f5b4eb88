// clipft-experiment wise-ft (Wortsman et al., CVPR 2022): the zero-shot and the fine-tuned weights
// interpolated, theta = (1 - alpha) zero-shot + alpha fine-tuned, for a list of alpha, each model
// scoring the test sets with the descriptions; AUC % per alpha and test set as a table and a curve.
#include "experiment.hpp"

namespace clipft::experiments {

int wise_ft(const Options& options) {
    Experiment experiment(options, "wise-ft");
    experiment.model_path = options.text("zero-shot"); // the table's base model and the vocabulary's place
    if (!options.given("vocab"))
        experiment.vocabulary = std::filesystem::is_directory(experiment.model_path)
                                    ? experiment.model_path
                                    : experiment.model_path.parent_path();
    std::vector<double> alphas;
    try {
        alphas = heads::parse_alphas(options.text("alphas"));
    } catch (const Error& error) {
        throw UsageError(std::string("--alphas: ") + error.what());
    }
    heads::WeightInterpolation interpolation(options.text("zero-shot"), options.text("fine-tuned"));
    const std::filesystem::path models = experiment.out / "models";
    std::filesystem::create_directories(models);
    Results results(experiment);
    for (double alpha : alphas) {
        const std::filesystem::path file = models / ("alpha-" + heads::alpha_text(alpha) + ".safetensors");
        experiment.say("alpha ", heads::alpha_text(alpha), ": interpolating into ", file.string());
        interpolation.write(alpha, file);
        auto model = models::load_clip<float>(file);
        text::TokenizedDescriptions table =
            experiment.tokenize(experiment.description_set(options.text("descriptions")), *model);
        results.add("WiSE-FT alpha=" + heads::alpha_text(alpha), score_test_sets(experiment, *model, table));
        model.reset();
        if (!options.flag("keep-models")) std::filesystem::remove(file);
    }
    Table table = results.auc_table(
        "WiSE-FT: AUC % of (1 - alpha) zero-shot + alpha fine-tuned weights (alpha 0: zero-shot, 1: fine-tuned)");

    // AUC against alpha, one line per test set.
    plot::LinePlot plot;
    plot.title = "WiSE-FT: AUC against the interpolation weight";
    plot.x_label = "alpha (0 zero-shot, 1 fine-tuned)";
    plot.y_label = "AUC %";
    plot.legend_corner = plot::LegendCorner::bottom_right;
    for (std::size_t t = 0; t < experiment.tests.size(); ++t) {
        std::vector<double> auc;
        for (std::size_t r = 0; r < alphas.size(); ++r) auc.push_back(table.values[r][t]);
        plot.add_series(experiment.tests[t].name, alphas, auc);
    }
    const std::filesystem::path plot_path = experiment.out / "wise-ft.svg";
    plot.save(plot_path);
    std::vector<Table> tables{table};
    for (Table& subsets : results.subset_tables()) tables.push_back(std::move(subsets));
    io::Json details = io::Json::array();
    for (std::size_t r = 0; r < alphas.size(); ++r) {
        io::Json aucs = io::Json::object();
        for (std::size_t t = 0; t < experiment.tests.size(); ++t) aucs[experiment.tests[t].name] = table.values[r][t];
        details.push_back({{"alpha", alphas[r]}, {"auc", aucs}});
    }
    report(experiment, tables, {plot_path},
           {{"zero_shot", options.text("zero-shot")}, {"fine_tuned", options.text("fine-tuned")}, {"alphas", details}});
    return 0;
}

} // namespace clipft::experiments
