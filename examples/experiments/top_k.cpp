// clipft-experiment top-k (thesis Table 12, plotted like Figure 5): the pretrained model scoring the
// test sets with 550desc's 1,100 descriptions, each class logit being the mean of only the K
// highest logits among all descriptions (a class with none of them gets no chance), for a list of
// K; and the same with each class's own K highest logits.
#include "experiment.hpp"

#include <algorithm>

namespace clipft::experiments {

int top_k(const Options& options) {
    Experiment experiment(options, "top-k");
    std::vector<std::int64_t> ks = experiment.whole_numbers(
        "k", {"3", "10", "50", "100", "200", "300", "400", "500", "600", "700", "800", "900", "1000", "1100"});

    auto model = experiment.load_model();
    experiment.to_device(*model);
    AutocastGuard autocast(experiment.precision);
    text::DescriptionSet set = experiment.description_set(options.text("descriptions"));
    text::TokenizedDescriptions table = experiment.tokenize(set, *model);
    Tensor<float> descriptions = eval::encode_descriptions(*model, table);
    std::vector<Tensor<float>> images = encode_test_sets(experiment, *model);
    Results global(experiment), per_class(experiment);
    for (std::int64_t k : ks) {
        global.add(
            "CLIP (top-" + std::to_string(k) + ")",
            fake_scores(images, descriptions, table, model->logit_scale.item(), {eval::DescriptionRule::top_k, k}));
        per_class.add("CLIP (class-top-" + std::to_string(k) + ")",
                      fake_scores(images, descriptions, table, model->logit_scale.item(),
                                  {eval::DescriptionRule::per_class_top_k, k}));
    }
    const std::string total = std::to_string(set.size());
    Table global_table = global.auc_table("Table 12: zero-shot AUC % keeping the top-K of " + set.name + "'s " + total +
                                          " description logits (all classes together)");
    Table class_table = per_class.auc_table("Zero-shot AUC % keeping each class's own top-K logits of " + set.name +
                                            " (K at or above a class's count: the mean of all)");

    // Figure 5: AUC against K, a colour per test set; per-class top-K dashed.
    plot::LinePlot plot;
    plot.title = "Zero-shot AUC with the top-K of " + set.name;
    plot.x_label = "K (logits kept)";
    plot.y_label = "AUC %";
    plot.legend_corner = plot::LegendCorner::bottom_right;
    plot.x_range = plot::AxisRange{0, double(*std::max_element(ks.begin(), ks.end()))};
    std::vector<double> x(ks.begin(), ks.end());
    for (std::size_t t = 0; t < experiment.tests.size(); ++t) {
        std::vector<double> all, own;
        for (std::size_t r = 0; r < ks.size(); ++r)
            all.push_back(global_table.values[r][t]), own.push_back(class_table.values[r][t]);
        const std::string colour = plot::detail::palette[t % plot::detail::palette.size()];
        plot.add_series(experiment.tests[t].name + " (top-K)", x, all).colour = colour;
        plot::Series& dashed = plot.add_series(experiment.tests[t].name + " (per-class top-K)", x, own);
        dashed.colour = colour;
        dashed.dashed = true;
    }
    const std::filesystem::path plot_path = experiment.out / "top-k.svg";
    plot.save(plot_path);
    report(experiment, {global_table, class_table}, {plot_path});
    return 0;
}

} // namespace clipft::experiments
