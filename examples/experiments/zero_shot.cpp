// clipft-experiment zero-shot (thesis Table 3): the pretrained model, nothing trained, scoring each
// test set with one description per class (1desc) and with 550 per class (550desc), the class logit
// being the mean of its descriptions' logits.
#include "experiment.hpp"

namespace clipft::experiments {

int zero_shot(const Options& options) {
    Experiment experiment(options, "zero-shot");
    Results results(experiment);
    add_zero_shot_rows(experiment, results, experiment.names("descriptions", {"1desc", "550desc"}));
    results.report("Table 3: zero-shot AUC % of the pretrained CLIP");
    return 0;
}

} // namespace clipft::experiments
