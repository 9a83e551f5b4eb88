// clipft-experiment reset-vision (thesis Table 5): the vision tower re-initialised and trained, the
// text tower frozen, once per description set (1desc, 550desc, and the unrelated pairs catDog,
// carMoto, FlakeBall), each run from the pretrained weights.
#include "experiment.hpp"

namespace clipft::experiments {

int reset_vision(const Options& options) {
    return description_sets_table(Experiment(options, "reset-vision"), "reset-vision+freeze-text",
                                  {"1desc", "550desc", "catDog", "carMoto", "FlakeBall"},
                                  "Table 5: AUC % with the vision tower re-initialised and the text tower frozen");
}

} // namespace clipft::experiments
