// clipft probe: a head fitted on frozen CLIP features (UnivFD's linear probe, kNN) or the zero-shot
// classifier written as a head, saved as a probe file for clipft eval --probe and interpolate.
#include "device_options.hpp"
#include "options.hpp"

#include <clipft/clip.hpp>
#include <iostream>

namespace clipft::cli {

int probe(const Options& options) {
    if (options.given("threads")) set_num_threads(int(options.integer("threads")));
    const std::string method = options.text("method"), init = options.text("init");
    if (method != "logistic" && method != "knn" && method != "zero-shot")
        throw UsageError("--method must be logistic, knn or zero-shot, got '" + method + "'");
    if (init != "zero" && init != "zero-shot") throw UsageError("--init must be zero or zero-shot, got '" + init + "'");
    const bool zero_shot_head = method == "zero-shot" || (method == "logistic" && init == "zero-shot");
    if (zero_shot_head && (!options.given("model") || !options.given("descriptions")))
        throw UsageError("a zero-shot head (--method zero-shot or --init zero-shot) needs --model and --descriptions");
    if (!options.given("features") && !options.given("data"))
        throw UsageError("give --features F.safetensors (from clipft features) or --model M --data DIR|CSV");
    if (options.given("data") && !options.given("model")) throw UsageError("--data needs --model to encode the images");
    const std::filesystem::path out = options.text("out");
    const bool quiet = options.flag("quiet");

    // The features: a features file, or computed here (and kept beside --out, or in --features).
    std::filesystem::path features_path = options.given("features")
                                              ? std::filesystem::path(options.text("features"))
                                              : std::filesystem::path(out).replace_extension(".features.safetensors");
    const Precision precision = cpu_precision(options);
    AutocastGuard autocast(precision); // the features computed here and the zero-shot head's texts
    std::unique_ptr<models::CLIP<float>> model;
    std::string hash;
    if (options.given("model")) {
        model = models::load_clip<float>(options.text("model"));
        hash = heads::encoding_identity(heads::model_hash(options.text("model")), precision);
    }
    if (options.given("data")) {
        std::vector<std::string> classes = heads::split_classes(options.text("classes"));
        if (classes.size() < 2) throw UsageError("--classes needs at least two class names, e.g. real,fake");
        heads::compute_features(*model, hash, data::Dataset::open(options.text("data"), classes), features_path,
                                {options.integer("batch"), 60, !quiet});
    }
    heads::FeatureSet set = heads::FeatureSet::load(features_path);
    if (!hash.empty() && !set.model_hash.empty() && hash != set.model_hash)
        std::cerr << "clipft probe: warning: " << features_path.string() << " was encoded by another model (hash "
                  << set.model_hash << ") than --model (hash " << hash << ")\n";
    const std::int64_t classes = std::int64_t(set.classes.size());

    std::optional<heads::LinearProbe> zero_shot;
    if (zero_shot_head) {
        std::filesystem::path model_path = options.text("model");
        std::filesystem::path vocabulary =
            options.given("vocab") ? std::filesystem::path(options.text("vocab")) : text::model_vocabulary(model_path);
        text::DescriptionSet descriptions =
            text::DescriptionSet::load(text::find_description_set(options.text("descriptions")), set.classes);
        auto table = text::TokenizedDescriptions::from_texts(
            descriptions.descriptions, text::Tokenizer::load(vocabulary), model->config.text.context_length);
        zero_shot = heads::LinearProbe::zero_shot(eval::encode_descriptions(*model, table), table.counts,
                                                  model->logit_scale.item());
    }

    heads::Probe probe{method, set.classes, std::nullopt, std::nullopt, {{"features", features_path.string()}}};
    if (!set.model_hash.empty() || !hash.empty())
        probe.metadata["model_hash"] = set.model_hash.empty() ? hash : set.model_hash;
    nlohmann::ordered_json result = {{"method", method}, {"rows", set.labels.size()}, {"classes", set.classes}};
    if (method == "knn") {
        probe.neighbors = heads::NearestNeighbors{set.features, set.labels, classes, options.integer("k")};
        probe.neighbors->check();
        result["k"] = probe.neighbors->k;
    } else if (method == "zero-shot") {
        probe.linear = zero_shot;
    } else {
        heads::LogisticRegressionOptions fit_options;
        fit_options.initial = zero_shot;
        fit_options.solver.max_iterations = options.integer("max-iterations");
        if (options.text("C") == "auto") {
            // UnivFD's tuning: C on a log grid, by the cross-entropy on a held-out part split by video.
            heads::RegularizationChoice choice = heads::choose_C(
                set, heads::default_C_grid(), options.number("validation-fraction"),
                std::uint64_t(options.integer("seed")), fit_options, [&](const heads::RegularizationTrial& trial) {
                    if (!quiet)
                        std::cerr << "clipft probe: C " << trial.C << ": validation cross-entropy "
                                  << trial.validation_cross_entropy << "\n";
                });
            nlohmann::ordered_json grid = nlohmann::ordered_json::array();
            for (const heads::RegularizationTrial& trial : choice.trials)
                grid.push_back({{"C", trial.C}, {"validation_cross_entropy", trial.validation_cross_entropy}});
            fit_options.C = choice.C;
            result["C_grid"] = grid;
            probe.metadata["C_grid"] = grid.dump();
        } else {
            fit_options.C = options.number("C");
            if (!(fit_options.C > 0)) throw UsageError("--C must be a positive number or auto");
        }
        heads::LogisticRegressionFit fit =
            heads::fit_logistic_regression(set.features, set.labels, classes, fit_options);
        if (!fit.converged)
            std::cerr << "clipft probe: warning: L-BFGS stopped after " << fit.iterations
                      << " iterations before converging; raise --max-iterations\n";
        probe.linear = fit.probe;
        char C[32];
        std::snprintf(C, sizeof C, "%.17g", fit_options.C);
        probe.metadata["C"] = C;
        probe.metadata["init"] = init;
        result["C"] = fit_options.C;
        result["iterations"] = fit.iterations;
        result["converged"] = fit.converged;
        result["objective"] = fit.objective;
    }
    probe.save(out);
    result["out"] = out.string();
    result["features"] = features_path.string();
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
