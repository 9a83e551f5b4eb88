// clipft-experiment: the experiments of the thesis (sections 8.1 to 8.4) as sub-commands, each
// printing its table laid out like the thesis' and writing its plots and DIR/results.json. They
// run on a user's face crops and CLIP weights with the thesis' recipe by default, and on anything
// small (clipft synth's faces, a tiny model) with the training knobs turned down.
#include "experiment.hpp"

using namespace clipft::experiments;

namespace {

const std::map<std::string, Command>& commands() {
    using Kind = OptionSpec::Kind;
    const std::vector<OptionSpec> descriptions_list{{"descriptions", Kind::list, ""}};
    const std::vector<OptionSpec> comparison{{"zero-shot", Kind::list, ""}};
    static const std::map<std::string, Command> table = {
        {"datasets",
         {"Tables 1 and 2: images per dataset, split, class and manipulation, from the manifests",
          "clipft-experiment datasets --dataset NAME=PATH... --out DIR\n"
          "PATH: a folder holding train.csv, val.csv and/or test.csv (clipft dataset's, or manifests of clipft\n"
          "faces named so), else one dataset folder or manifest. Counts the rows (images, or videos in clipft\n"
          "dataset's lists) per split, class and manipulation (the fakes' subsets), prints them as one table\n"
          "(a column per dataset and split) and writes DIR/results.json.",
          {{"dataset", Kind::list}, {"out", Kind::value}},
          datasets}},
        {"full",
         {"Table 6: both towers fine-tuned with 1desc, 10desc and 550desc",
          "clipft-experiment full --model PATH --train DIR|CSV --test [NAME=]DIR|CSV... --out DIR\n"
          "                       [--descriptions SET...] [--zero-shot SET...] [options]\n"
          "Fine-tunes both towers with each description set in turn (default 1desc 10desc 550desc), each from the\n"
          "pretrained weights, into DIR/<set>/ (best.safetensors, loss.svg, ...), scores the test sets and prints\n"
          "AUC % per test set and their average (Table 6), and per manipulation; --zero-shot SET... adds rows of\n"
          "the pretrained model for comparison. Writes DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage + training_usage,
          options_of({common_options(), test_options(), training_options(), descriptions_list, comparison}), full}},
        {"leave-one-out",
         {"Table 7: trained without one manipulation, tested on it, for each manipulation",
          "clipft-experiment leave-one-out --model PATH --train DIR|CSV --test [NAME=]DIR|CSV... --out DIR\n"
          "                                [--descriptions 1desc] [--subsets NAME...] [options]\n"
          "For each manipulation of the training data (the subsets of its fakes, or --subsets), fine-tunes both\n"
          "towers from the pretrained weights without that manipulation's fakes (in training and validation)\n"
          "into DIR/without-<name>/, then scores the test sets. Prints Table 7 (AUC % of each model on the\n"
          "manipulation it never saw, from the first test set that holds it), each model's AUC % per test set,\n"
          "and per manipulation. Writes DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage + training_usage,
          options_of({common_options(),
                      test_options(),
                      training_options(),
                      {{"descriptions", Kind::value, "1desc"}, {"subsets", Kind::list, ""}}}),
          leave_one_out}},
        {"probe",
         {"UnivFD baselines: linear probe and kNN (k = 1, 5, 20) on the pretrained model's frozen features",
          "clipft-experiment probe --model PATH --train DIR|CSV --test [NAME=]DIR|CSV... --out DIR [--per-class N]\n"
          "                        [--C 1|auto] [--validation-fraction 0.2] [--k K...] [--zero-shot SET...] [options]\n"
          "Encodes the training and test images once with the pretrained model (normalised image embeddings,\n"
          "cached in DIR/features-*.safetensors and reused by a re-run), fits a logistic-regression probe\n"
          "(scikit-learn's objective; --C auto: chosen by the cross-entropy on --validation-fraction of the\n"
          "training videos) and kNN by cosine similarity for each K (default 1 5 20), and prints AUC % per test\n"
          "set and their average, and per manipulation; --zero-shot SET... adds zero-shot rows. Writes\n"
          "DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage +
              "  training:  --train DIR|CSV  --per-class N (training images per class, shared among the "
              "manipulations)\n",
          options_of({common_options(),
                      test_options(),
                      {{"train", Kind::value},
                       {"per-class", Kind::value, ""},
                       {"C", Kind::value, "1"},
                       {"validation-fraction", Kind::value, "0.2"},
                       {"k", Kind::list, ""},
                       {"zero-shot", Kind::list, ""}}}),
          probe}},
        {"peft",
         {"parameter-efficient fine-tuning: full, layer-norm, LoRA, SVD residual and prompt context, a row each",
          "clipft-experiment peft --model PATH --train DIR|CSV --test [NAME=]DIR|CSV... --out DIR\n"
          "                       [--descriptions 1desc] [--rank 8] [--targets q,v] [--prompt-context 4] [options]\n"
          "Fine-tunes with the thesis' recipe five times from the pretrained weights, into DIR/<method>/: every\n"
          "parameter (full), the layer norms and logit_scale (layer-norm), LoRA and the SVD residual (Effort) of rank\n"
          "--rank on --targets of every block of both towers, and --prompt-context learned context vectors (CoOp;\n"
          "every CLIP weight frozen). Prints per method the parameters trained, the seconds per update (its\n"
          "validations included), the peak resident memory of its run, and AUC % per test set and per\n"
          "manipulation. Writes DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage + training_usage,
          options_of(
              {common_options(),
               test_options(),
               training_options(),
               descriptions_list,
               {{"rank", Kind::value, "8"}, {"targets", Kind::value, "q,v"}, {"prompt-context", Kind::value, "4"}}}),
          peft}},
        {"reset-vision",
         {"Table 5: vision tower re-initialised, text frozen, with 1desc, 550desc, catDog, carMoto, FlakeBall",
          "clipft-experiment reset-vision --model PATH --train DIR|CSV --test [NAME=]DIR|CSV... --out DIR\n"
          "                               [--descriptions SET...] [--zero-shot SET...] [options]\n"
          "Re-initialises every vision parameter (OpenAI's initialisation), freezes the text tower and trains\n"
          "with each description set in turn (default 1desc 550desc catDog carMoto FlakeBall), each from the\n"
          "pretrained weights, into DIR/<set>/, then scores the test sets. Prints AUC % per test set and their\n"
          "average (Table 5; --zero-shot 1desc 550desc adds its first rows) and per manipulation. Writes\n"
          "DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage + training_usage,
          options_of({common_options(), test_options(), training_options(), descriptions_list, comparison}),
          reset_vision}},
        {"similarity",
         {"Figure 7 and Table 8: cosine similarities of the 10desc embeddings before and after fine-tuning",
          "clipft-experiment similarity --model PATH (--finetuned PATH | --train DIR|CSV [options]) --out DIR\n"
          "                             [--descriptions 10desc]\n"
          "Encodes the descriptions (10 real, 10 fake) with the pretrained model and with the fine-tuned one:\n"
          "--finetuned PATH (e.g. DIR/10desc/best.safetensors of clipft-experiment full), else both towers are\n"
          "fine-tuned here on --train into DIR/<set>/. Writes the 20 x 20 cosine-similarity matrices as\n"
          "heatmaps DIR/similarity-before.svg and DIR/similarity-after.svg (rows and columns: real 0..9, fake\n"
          "0..9; the texts are in DIR/results.json) and prints the mean similarity real/real, real/fake and\n"
          "fake/fake of each (Table 8), also without the diagonal.\n" +
              common_usage + training_usage,
          options_of({common_options(),
                      training_options(),
                      {{"descriptions", Kind::value, "10desc"}, {"finetuned", Kind::value, ""}}}),
          similarity}},
        {"top-k",
         {"Table 12 and Figure 5: zero-shot AUC keeping only the top-K of 550desc's logits",
          "clipft-experiment top-k --model PATH --test [NAME=]DIR|CSV... --out DIR [--descriptions 550desc] [--k "
          "K...]\n"
          "Scores the test sets with the pretrained model and every description of the set (default 550desc), each\n"
          "class logit being the mean of the K highest logits among all descriptions of all classes (a class with\n"
          "none among them gets probability 0), for each K (default 3 10 50 100 200 ... 1000 1100), and with each\n"
          "class's own K highest. Prints both tables of AUC % (Table 12) and plots AUC against K (Figure 5)\n"
          "into DIR/top-k.svg; writes DIR/results.json.\n" +
              common_usage + test_usage,
          options_of(
              {common_options(), test_options(), {{"descriptions", Kind::value, "550desc"}, {"k", Kind::list, ""}}}),
          top_k}},
        {"wise-ft",
         {"WiSE-FT: AUC of the zero-shot and fine-tuned weights interpolated, for each alpha",
          "clipft-experiment wise-ft --zero-shot PATH --fine-tuned PATH --test [NAME=]DIR|CSV... --out DIR\n"
          "                          [--alphas 0:1:0.1] [--descriptions 1desc] [--keep-models] [options]\n"
          "For each alpha (first:last:step, or a list such as 0,0.5,1) interpolates theta = (1 - alpha) zero-shot +\n"
          "alpha fine-tuned (as clipft interpolate; e.g. --fine-tuned DIR/1desc/best.safetensors of\n"
          "clipft-experiment full) into DIR/models/alpha-<a>.safetensors (removed after scoring unless\n"
          "--keep-models), scores the test sets with the descriptions, and prints AUC % per alpha and test set\n"
          "and per manipulation; plots AUC against alpha into DIR/wise-ft.svg; writes DIR/results.json.\n"
          "  common:    --vocab PATH (default: beside --zero-shot)  --out DIR  --seed 0  --threads N  --quiet\n" +
              test_usage,
          options_of({{{"model", Kind::value, ""},
                       {"vocab", Kind::value, ""},
                       {"out", Kind::value},
                       {"seed", Kind::value, "0"},
                       {"threads", Kind::value, ""},
                       {"quiet", Kind::flag, ""},
                       {"classes", Kind::value, "real,fake"},
                       {"class-from", Kind::value, "label"}},
                      clipft::cli::device_option_specs(),
                      test_options(),
                      {{"zero-shot", Kind::value},
                       {"fine-tuned", Kind::value},
                       {"alphas", Kind::value, "0:1:0.1"},
                       {"descriptions", Kind::value, "1desc"},
                       {"keep-models", Kind::flag, ""}}}),
          wise_ft}},
        {"zero-shot",
         {"Table 3: the pretrained model with 1desc and with 550desc, nothing trained",
          "clipft-experiment zero-shot --model PATH --test [NAME=]DIR|CSV... --out DIR [--descriptions SET...]\n"
          "Scores the test sets with the pretrained model and each description set (default 1desc 550desc; a\n"
          "class logit is the mean of its descriptions' logits). Prints AUC % per test set and their average\n"
          "(Table 3) and per manipulation; writes DIR/roc-<test>.svg and DIR/results.json.\n" +
              common_usage + test_usage,
          options_of({common_options(), test_options(), descriptions_list}), zero_shot}},
    };
    return table;
}

} // namespace

int main(int argc, char** argv) {
    return clipft::cli::run_command_line("clipft-experiment", commands(), {argv + 1, argv + argc});
}
