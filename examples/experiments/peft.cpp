// clipft-experiment peft: parameter-efficient fine-tuning against full fine-tuning with the thesis'
// recipe (1desc by default): full, layer-norm, LoRA, SVD residual (Effort) and learned prompt
// context (CoOp), each from the pretrained weights; per method the parameters trained, the time per
// update, the peak memory of its run, and AUC % per test set.
#include "experiment.hpp"

#include <chrono>
#include <fstream>

namespace clipft::experiments {

namespace {

// The peak resident memory since the last reset (Linux: VmHWM, reset through /proc/self/clear_refs),
// in MB; NaN where the system does not tell.
void reset_peak_memory() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_memory_mb() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0; // kB
    return NAN;
}

} // namespace

int peft(const Options& options) {
    Experiment experiment(options, "peft");
    const std::string descriptions = experiment.names("descriptions", {"1desc"}).front();
    const std::int64_t rank = options.integer("rank");
    models::AdapterOptions lora;
    lora.targets = nn::parse_adapter_targets(options.text("targets"));
    lora.lora.rank = rank;
    models::AdapterOptions svd = lora;
    svd.method = models::AdapterMethod::svd;
    auto adapters = [](models::AdapterOptions chosen) {
        return [chosen](models::CLIP<float>& model, const text::TokenizedDescriptions&, Generator& generator) {
            models::attach_adapters(model, chosen, generator);
        };
    };
    const std::int64_t context = options.integer("prompt-context");
    auto prompt = [context](models::CLIP<float>& model, const text::TokenizedDescriptions& table,
                            Generator& generator) {
        model.text.set_prompt(models::PromptContext<float>::random(context, model.config.text.width, 0, generator));
        model.text.prompt->set_descriptions(table);
    };
    const std::string r = std::to_string(rank);
    const std::vector<Configuration> configurations = {
        {"full", descriptions, "full", "full"},
        {"layer-norm", descriptions, "layer-norm", "layer-norm"},
        {"LoRA (r " + r + ", " + options.text("targets") + ")", descriptions, "none", "lora", adapters(lora)},
        {"SVD residual (r " + r + ", " + options.text("targets") + ")", descriptions, "none", "svd", adapters(svd)},
        {"prompt (" + std::to_string(context) + " vectors)", descriptions, "none", "prompt", prompt}};

    Results results(experiment);
    TrainingData data = training_data(experiment);
    Table costs{"Cost of each method", {"trained parameters", "s / update (validation included)", "peak MB"}, {}, {}};
    costs.decimals = 3;
    for (const Configuration& configuration : configurations) {
        reset_peak_memory();
        const auto start = std::chrono::steady_clock::now();
        FineTuned tuned = fine_tune(experiment, configuration, data, experiment.seed);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double peak = peak_memory_mb();
        const std::int64_t trained = models::trainable_parameter_count(*tuned.model);
        const double per_update = seconds / double(std::max<std::int64_t>(1, tuned.summary.steps));
        costs.add_row(configuration.row, {double(trained), per_update, peak});
        results.add(configuration.row, score_test_sets(experiment, *tuned.model, tuned.descriptions));
    }
    results.report("AUC % of each fine-tuning method (" + descriptions + ")", {costs});
    return 0;
}

} // namespace clipft::experiments
