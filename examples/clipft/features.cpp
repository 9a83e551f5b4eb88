// clipft features: the normalised image embeddings of a dataset, computed once and reused
// (heads/feature_cache.hpp), for probes and kNN on frozen CLIP.
#include "device_options.hpp"
#include "options.hpp"

#include <clipft/clip.hpp>

#include <iostream>

namespace clipft::cli {

int features(const Options& options) {
    if (options.given("threads")) set_num_threads(int(options.integer("threads")));
    std::vector<std::string> classes = heads::split_classes(options.text("classes"));
    if (classes.size() < 2) throw UsageError("--classes needs at least two class names, e.g. real,fake");
    const std::filesystem::path model_path = options.text("model"), out = options.text("out");
    if (out.extension() != ".safetensors")
        throw UsageError("--out must name a .safetensors file, got '" + out.string() + "'");
    const double save_every = options.number("save-every");
    const long batch = options.integer("batch");
    if (batch < 1) throw UsageError("--batch must be at least 1");
    const Precision precision = cpu_precision(options);
    data::Dataset dataset = data::Dataset::open(options.text("data"), classes);
    auto model = models::load_clip<float>(model_path);
    const std::string hash = heads::encoding_identity(heads::model_hash(model_path), precision);
    AutocastGuard autocast(precision);
    heads::FeatureCacheRun run =
        heads::compute_features(*model, hash, dataset, out, {batch, save_every, !options.flag("quiet")});
    nlohmann::ordered_json result = {{"features", out.string()}, {"csv", heads::features_csv_path(out).string()},
                                     {"rows", run.rows},         {"width", run.width},
                                     {"reused", run.reused},     {"encoded", run.encoded},
                                     {"model_hash", hash}};
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
