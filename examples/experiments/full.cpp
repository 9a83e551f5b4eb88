// clipft-experiment full (thesis Table 6): both towers fine-tuned, once per description set (1desc,
// 10desc, 550desc), each run from the pretrained weights.
#include "experiment.hpp"

namespace clipft::experiments {

int full(const Options& options) {
    return description_sets_table(Experiment(options, "full"), "full", {"1desc", "10desc", "550desc"},
                                  "Table 6: AUC % of full fine-tuning (both towers)");
}

} // namespace clipft::experiments
