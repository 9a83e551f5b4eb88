#pragma once
// The thesis' training recipe (SPEC "Training recipe used by the thesis") as command-line options,
// shared by clipft finetune and the fine-tuning commands of clipft-experiment: the options with the
// recipe's values as defaults and their help. recipe.hpp makes the trainer's options of them; this
// header stays light for the programs' option tables.
#include "options.hpp"

#include <vector>

namespace clipft::cli {

inline std::vector<OptionSpec> recipe_option_specs() {
    using Kind = OptionSpec::Kind;
    return {{"batch", Kind::value, "16"},
            {"epochs", Kind::value, "100"},
            {"batches-per-epoch", Kind::value, "0"},
            {"lr", Kind::value, ""},
            {"schedule", Kind::value, "cosine"},
            {"warmup", Kind::value, "10000"},
            {"cosine", Kind::value, "10000"},
            {"step-size", Kind::value, "1000"},
            {"gamma", Kind::value, "0.5"},
            {"beta1", Kind::value, "0.9"},
            {"beta2", Kind::value, "0.98"},
            {"eps", Kind::value, "1e-6"},
            {"weight-decay", Kind::value, "0.2"},
            {"decay-all", Kind::flag, ""},
            {"patience", Kind::value, "3"},
            {"min-improvement", Kind::value, "0.05"}};
}

inline const char* recipe_options_help =
    "  recipe:    the thesis' by default: --batch 16 (images; the thesis': 8 real/fake pairs)\n"
    "             --epochs 100  --batches-per-epoch 0 (0: one pass over the smaller class)\n"
    "             --lr LR (the peak; default 6e-7 with one description per class, 8e-7 with several)\n"
    "             --schedule cosine|constant|step  --warmup 10000  --cosine 10000 (cosine: linear warm-up, then "
    "cosine\n"
    "             annealing; each later cycle peaks at half the previous peak)  --step-size 1000  --gamma 0.5 (step: "
    "the\n"
    "             rate times gamma every step-size updates)  --beta1 0.9  --beta2 0.98  --eps 1e-6 (AdamW's)\n"
    "             --weight-decay 0.2  --decay-all (weight decay on every parameter, not only the weight matrices)\n"
    "             --patience 3  --min-improvement 0.05 (stop when the validation loss has not improved by 5 % over 3\n"
    "             epochs; the weights of the lowest validation loss are kept)\n";

} // namespace clipft::cli
