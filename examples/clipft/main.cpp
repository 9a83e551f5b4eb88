// The clipft command: one program, one sub-command per job. Exit codes: 0 success, 2 usage error,
// 1 any other failure (one line on stderr naming what is at fault).
#include "options.hpp"
#include "recipe_options.hpp"
#include "self_blend_options.hpp"

#include <iostream>

using namespace clipft::cli;

namespace {

std::vector<OptionSpec> joined(std::vector<OptionSpec> first, const std::vector<OptionSpec>& second) {
    first.insert(first.end(), second.begin(), second.end());
    return first;
}

// eval and zero-shot run the same job (zero-shot: on pretrained weights).
const char* const evaluate_usage =
    "--model PATH --data DIR|CSV (--descriptions SET | --probe P.safetensors) --out DIR [--classes real,fake]\n"
    "       [--scoring mean|ensemble|top-K|class-top-K] [--threshold 0.5] [--batch 32] [--vocab PATH] [--threads N] "
    "[--quiet]\n"
    "       [--class-from label|subset]\n"
    "Scores every image of a dataset folder (root/<class>/[<subset>/[<video>/]]images) or manifest CSV\n"
    "(path,label[,subset][,video]) with the model and a description set (a folder of <class>.txt files or a\n"
    "name under descriptions/): the class logit is the mean of its descriptions' logits (or the --scoring\n"
    "rule), the score of an image its probability of the last class (fake). Writes DIR/scores.csv (path,\n"
    "label, score, subset, video, p_<class>...; label: the class's index in --classes), DIR/metrics.json and "
    "DIR/roc.svg, prints AUC, AP, EER and\n"
    "accuracy overall, per subset (each against the reals) and per video, and ends with one JSON line.\n"
    "--probe P (a probe file of clipft probe) scores with that head on the normalised image embeddings instead of\n"
    "descriptions: P(class) = the probe's probabilities, the score that of the last class; --classes defaults to P's.\n"
    "--class-from subset makes each subset a class (real/, fake/FaceSwap/, fake/SelfBlended/ with --classes\n"
    "real,FaceSwap,SelfBlended; images of no subset keep their class). With more than two classes metrics.json\n"
    "also holds \"multiclass\": accuracy (argmax), confusion_matrix (rows true, columns predicted, in --classes\n"
    "order), macro_auc (one-vs-rest, as scikit-learn's roc_auc_score multi_class=\"ovr\") and per_class AUC and AP.\n"
    "--adapter FILE applies the adapter.safetensors of clipft finetune --method lora|svd to --model (its base);\n"
    "--prompts FILE the prompts.safetensors of clipft finetune --method prompt.\n"
    "--video-score mean|max-face-mean: a video scores the mean over its images, or (DeepfakeBench's protocol, for a\n"
    "`clipft faces` manifest with its frame column) the mean over its frames of each frame's highest face score.\n"
    "--device cpu|cuda|cuda:N --precision float32|bfloat16|float16: where the model runs and a GPU's products.";

std::vector<OptionSpec> evaluate_options() {
    using Kind = OptionSpec::Kind;
    return {{"model", Kind::value},
            {"data", Kind::value},
            {"descriptions", Kind::value, ""},
            {"probe", Kind::value, ""},
            {"out", Kind::value},
            {"classes", Kind::value, "real,fake"},
            {"scoring", Kind::value, "mean"},
            {"threshold", Kind::value, "0.5"},
            {"batch", Kind::value, "32"},
            {"vocab", Kind::value, ""},
            {"threads", Kind::value, ""},
            {"quiet", Kind::flag, ""},
            {"class-from", Kind::value, "label"},
            {"adapter", Kind::value, ""},
            {"prompts", Kind::value, ""},
            {"video-score", Kind::value, "mean"},
            {"device", Kind::value, "cpu"},
            {"precision", Kind::value, "float32"}};
}

const std::map<std::string, Command>& commands() {
    using Kind = OptionSpec::Kind;
    static const std::map<std::string, Command> table = {
        {"bench",
         {"measure encoding or fine-tuning throughput as JSON lines",
          "clipft bench (--model PATH | --preset B32|B16|L14|L14@336) --what image|text|step --batch N\n"
          "                    [--threads N] [--iters N] [--warmup N] [--seed S] [--precision float32|bfloat16]\n"
          "Encodes one batch of random images [N, 3, R, R] or random token rows (context 77, one\n"
          "end-of-text token each) --warmup times, then --iters times, without gradients, with products in\n"
          "--precision, and prints one JSON line: what, preset (the preset or the model path), batch, threads,\n"
          "precision, items_per_s, median_s (median wall time of one batch), median_cpu_s (its CPU time, user +\n"
          "system, every thread: what a busy machine does not inflate), peak_rss_mb. Presets get random\n"
          "weights (seeded). Only the measured tower is built. --what step measures one pairwise fine-tuning\n"
          "step (forward, backward, AdamW on every trained parameter) on N images in N/2 real/fake pairs;\n"
          "--method full|layer-norm|lora|svd|prompt (with --targets q,v --towers vision,text --rank 8; prompt: 4\n"
          "context vectors, every CLIP weight frozen) says what trains,\n"
          "--checkpoint-activations recomputes each block in the backward pass; the line then also holds method,\n"
          "checkpoint_activations and trainable_parameters.",
          {{"model", Kind::value},
           {"preset", Kind::value},
           {"what", Kind::value},
           {"batch", Kind::value},
           {"threads", Kind::value},
           {"iters", Kind::value, "10"},
           {"warmup", Kind::value, "2"},
           {"seed", Kind::value, "0"},
           {"precision", Kind::value, "float32"},
           {"method", Kind::value, "full"},
           {"targets", Kind::value, "q,v"},
           {"towers", Kind::value, "vision,text"},
           {"rank", Kind::value, "8"},
           {"lora-alpha", Kind::value, ""},
           {"lora-dropout", Kind::value, "0"},
           {"checkpoint-activations", Kind::flag, ""}},
          bench}},
        {"dataset",
         {"list a deepfake dataset's videos in its official splits as manifests (FF++, Celeb-DF v2, DFDC Preview)",
          "clipft dataset ffpp|celebdf|dfdcp --root R --out DIR [--compression c23] [--methods M,...]\n"
          "               [--validation-fraction 0.1] [--seed 0] [--disjoint-identities]\n"
          "Lists (never decodes) the videos of a dataset in its own layout and writes DIR/train.csv, val.csv and\n"
          "test.csv (columns path (absolute), label, subset (the manipulation; empty for reals), video, source\n"
          "(the real video a fake was made from), identities (the people shown)) and DIR/split.csv (where each\n"
          "video went). ffpp: R/splits/{train,val,test}.json, R/original_sequences/youtube/<c>/videos/a.mp4,\n"
          "R/manipulated_sequences/<Method>/<c>/videos/a_b.mp4, --compression raw|c23|c40, --methods (default\n"
          "Deepfakes,Face2Face,FaceSwap,NeuralTextures; FaceShifter when named). celebdf: Celeb-real/,\n"
          "YouTube-real/, Celeb-synthesis/, List_of_testing_videos.txt (test = the listed videos, train = the\n"
          "rest). dfdcp: R/dataset.json (path -> {label, set}). For celebdf and dfdcp, val is an identity-safe\n"
          "--validation-fraction of train (videos mixing held-out and training identities are dropped and\n"
          "listed in split.csv as such). --disjoint-identities also drops training videos of people in the test\n"
          "split. A split file naming a missing video, or a malformed list, is an error and nothing is written.\n"
          "Prints one JSON line: the counts per split, label and manipulation.",
          {{"root", Kind::value},
           {"out", Kind::value},
           {"compression", Kind::value, "c23"},
           {"methods", Kind::list, ""},
           {"validation-fraction", Kind::value, "0.1"},
           {"seed", Kind::value, "0"},
           {"disjoint-identities", Kind::flag, ""}},
          dataset}},
        {"demo",
         {"detect synthetic deepfakes with a small CLIP fine-tuned by the pairwise loss (the built-in default job)",
          "clipft demo [--seed S] [--images N] [--epochs E] [--lr LR] [--out DIR] [--model PATH] [--quiet]\n"
          "            [--precision float32|bfloat16]\n"
          "Builds a deepfake-detection task with nothing downloaded: N synthetic faces and N self-blended\n"
          "fakes of other faces for training, held-out self-blended fakes (in distribution) and face swaps\n"
          "(a manipulation never seen in training) for testing. Fine-tunes a small CLIP (or the checkpoint\n"
          "at --model) with the thesis' pairwise loss and the 1desc descriptions for E epochs, then prints\n"
          "AUC, AP, EER and accuracy of both test sets, writes DIR/roc.svg and DIR/loss.svg, and ends with\n"
          "one JSON line: in_distribution_auc, cross_manipulation_auc, seconds, roc_plot, loss_plot.\n"
          "--precision bfloat16 runs the matrix products in bfloat16 (CPUs with AVX512-BF16; float weights).",
          {{"seed", Kind::value, "1"},
           {"images", Kind::value, "960"},
           {"epochs", Kind::value, "8"},
           {"lr", Kind::value, "1e-3"},
           {"out", Kind::value, "demo-run"},
           {"model", Kind::value, ""},
           {"quiet", Kind::flag, ""},
           {"precision", Kind::value, "float32"}},
          demo}},
        {"encode",
         {"image and text embeddings (and logits) of a CLIP checkpoint, as safetensors",
          "clipft encode --model PATH [--inputs FILE] [--images IMG...] [--text STR...] [--vocab PATH]\n"
          "              --out FILE [--precision float32|bfloat16]\n"
          "--inputs holds pixel_values [B,3,R,R] F32 and/or input_ids [T,L] I64/I32. Writes image_embeds\n"
          "[B,D], text_embeds [T,D] (projected, not normalised) and, when both exist, logits_per_image\n"
          "[B,T] and logits_per_text [T,B]. --images preprocesses image files at the model's image size\n"
          "(as clipft preprocess) after any --inputs pixel_values. --text tokenizes with the model\n"
          "directory's vocabulary (or --vocab PATH). --adapter FILE applies the adapter.safetensors of clipft\n"
          "finetune --method lora|svd to --model (its base model), unmerged; --prompts FILE the shared prompt\n"
          "context of clipft finetune --method prompt. --precision bfloat16 runs the matrix products in bfloat16.",
          {{"model", Kind::value},
           {"inputs", Kind::value, ""},
           {"images", Kind::list, ""},
           {"text", Kind::list, ""},
           {"vocab", Kind::value, ""},
           {"out", Kind::value},
           {"adapter", Kind::value, ""},
           {"prompts", Kind::value, ""},
           {"precision", Kind::value, "float32"}},
          encode}},
        {"eval",
         {"score a dataset with a (fine-tuned) checkpoint and descriptions: scores CSV, metrics, ROC plot",
          std::string("clipft eval ") + evaluate_usage, evaluate_options(), evaluate}},
        {"faces",
         {"find faces in images and videos, save crops, landmarks and a manifest CSV (dlib, FFmpeg)",
          "clipft faces (--in DIR_OR_FILE... | --manifest CSV) --out DIR [--frames-per-video N] [--min-size 95] "
          "[--threshold 0] [--upsample 0]\n"
          "             [--margin 0.3] [--align] [--every 1] [--max-faces 0] [--label CLASS] [--subset NAME]\n"
          "             [--landmarks-model PATH] [--threads N] [--quiet]\n"
          "Searches images (.jpg, .jpeg, .png, .bmp) and videos (.mp4, .avi, .mkv, .mov, .webm; every K-th\n"
          "frame with --every K) given as files or found in folders (recursively) for faces with dlib's HOG\n"
          "detector, keeping faces whose score is at least --threshold (0 is dlib's own boundary; the score\n"
          "is not a probability) and whose box is at least --min-size pixels on each side (--upsample N\n"
          "doublings find faces below 80 pixels). Each face is cropped with --margin (a fraction of the box\n"
          "on each side, cut at the image's border), turned so that the eyes are level with --align, and\n"
          "saved as PNG under DIR[/CLASS][/NAME], mirroring the input folders (a video's crops in a folder\n"
          "named after it), with its 68 landmarks in crop pixels in a CSV file next to it (dlib's model:\n"
          "--landmarks-model, by default /usr/share/dlib/shape_predictor_68_face_landmarks.dat of Debian's\n"
          "libdlib-data). --max-faces N keeps the N largest faces of each image or frame (0: all).\n"
          "DIR/manifest.csv gets a row per face: source, frame, left, top, width, height (the box in the\n"
          "source), score, crop, landmarks (relative to DIR), and path (= crop), label, subset, video: the\n"
          "columns `clipft finetune --data DIR/manifest.csv` reads. Rows of files an earlier run into the\n"
          "same DIR processed and this one does not are kept, so runs per class and subset build one\n"
          "manifest. Files that cannot be read are skipped with a warning each. Prints one JSON line:\n"
          "images, videos, frames, faces, skipped, manifest, rows.\n"
          "Columns: file (the image or video searched), frame, the box, score, crop, landmarks, path, label,\n"
          "subset, video, source (the real video a fake was made from; a video searched with --in is its own),\n"
          "identities. --manifest CSV (instead of --in: `clipft dataset`'s train.csv, val.csv or test.csv)\n"
          "searches the listed videos, keeps each row's label, subset, video, source and identities, and saves\n"
          "the crops under DIR/label/subset/video/. --frames-per-video N searches N evenly spaced frames of\n"
          "each video, frame floor(i n / N) of its n (DeepfakeBench's protocol; instead of --every).",
          {{"in", Kind::list},
           {"out", Kind::value},
           {"min-size", Kind::value, "95"},
           {"threshold", Kind::value, "0"},
           {"upsample", Kind::value, "0"},
           {"margin", Kind::value, "0.3"},
           {"align", Kind::flag, ""},
           {"every", Kind::value, "1"},
           {"max-faces", Kind::value, "0"},
           {"label", Kind::value, ""},
           {"subset", Kind::value, ""},
           {"landmarks-model", Kind::value, ""},
           {"threads", Kind::value, ""},
           {"quiet", Kind::flag, ""},
           {"manifest", Kind::value, ""},
           {"frames-per-video", Kind::value, "0"}},
          faces}},
        {"features",
         {"normalised image embeddings of a dataset as safetensors and CSV, reusing earlier runs' rows",
          "clipft features --model PATH --data DIR|CSV --out F.safetensors [--classes real,fake] [--batch 32]\n"
          "                [--save-every 60] [--threads N] [--precision float32|bfloat16] [--quiet]\n"
          "Encodes every image of a dataset folder or manifest CSV with the model's image tower and writes\n"
          "F.safetensors: features [N,D] F32 (the projected image embeddings, L2-normalised) and labels [N] I64\n"
          "(the index of each image's class in --classes), and F.csv beside it: path (absolute), label, subset,\n"
          "video in the same row order. A repeated or interrupted run reuses every row already encoded by\n"
          "the same model (by content hash) from the same image (path, size, modification time): rows in\n"
          "progress are kept in F.partial.safetensors, rewritten every --save-every seconds. Prints one JSON\n"
          "line: features, csv, rows, width, reused, encoded, model_hash. --precision bfloat16 runs the matrix\n"
          "products in bfloat16 (CPUs with AVX512-BF16); its rows are kept apart from float32's (model_hash\n"
          "ends in :bfloat16).",
          {{"model", Kind::value},
           {"data", Kind::value},
           {"out", Kind::value},
           {"classes", Kind::value, "real,fake"},
           {"batch", Kind::value, "32"},
           {"save-every", Kind::value, "60"},
           {"threads", Kind::value, ""},
           {"precision", Kind::value, "float32"},
           {"quiet", Kind::flag, ""}},
          features}},
        {"finetune",
         {"fine-tune CLIP on a dataset with the group contrastive loss (the thesis' method)",
          "clipft finetune --model PATH --data DIR|CSV --descriptions SET --out DIR [options]\n"
          "Fine-tunes the checkpoint at --model on a dataset folder (root/<class>/[<subset>/[<video>/]]images)\n"
          "or manifest CSV (path,label[,subset][,video]) with groups of --k images of distinct classes\n"
          "paired with one description per class from SET (a folder of <class>.txt files, or a name under\n"
          "descriptions/: 1desc, 10desc, 550desc, catDog, carMoto, FlakeBall). Validates every epoch on\n"
          "--validation (or a split by video of --data), stops early, keeps the best weights and writes\n"
          "DIR/best.safetensors, checkpoint.safetensors, metrics.jsonl/.csv, loss.svg, auc.svg,\n"
          "settings.json. --resume continues DIR's checkpoint. --config FILE.json gives any option by its\n"
          "name (flags win). Prints one JSON line with the result.\n"
          "  data:      --classes real,fake  --validation DIR|CSV  --validation-fraction 0.1  --per-class N\n"
          "             --class-from label|subset  (subset: each subset its own class, e.g. --classes\n"
          "             real,FaceSwap,SelfBlended --k 3 on clipft synth's folders; validation: macro AUC, accuracy)\n"
          "  groups:    --k 2 (images of distinct classes per group)  --description-draw batch|group  --accumulate "
          "1\n" +
              std::string(recipe_options_help) +
              "  also:      --max-steps -1 (updates in all; -1: no limit)  --clip-norm 0 (0: no gradient clipping)\n"
              "  augment:   --augment SPEC  training images only, seeded per image, e.g. "
              "\"flip,jitter=0.2,jpeg=60-95@0.5\"\n"
              "             (see include/clipft/image/augment.hpp)\n"
              "  model:     --freeze full|freeze-text|freeze-vision|reset-vision|layer-norm|last-blocks=K|none\n"
              "             (joined with +)  --vocab PATH\n"
              "  scoring:   --scoring mean|ensemble|top-K|class-top-K (of the validation AUC)\n"
              "  run:       --seed 0  --threads N  --checkpoint-every 0  --resume  --quiet\n"
              "             --prefetch  (decode the next batch on a background thread at idle priority)\n"
              "  device:    --device cpu|cuda|cuda:N  --precision float32|bfloat16|float16 (the products' precision;\n"
              "             bfloat16 also on CPUs with AVX512-BF16; float16 with dynamic loss scaling on a GPU only)\n"
              "  ranks:     under `mpirun -np N`, N processes share every --batch (data-parallel; rank 0 writes DIR "
              "and\n"
              "             prints)  --distributed auto|single|mpi|nccl  --collective-timeout 600 (seconds a rank "
              "waits\n"
              "             for the others before the run stops with an error)\n"
              "  adapters:  --method full|lora|svd|prompt  (full: what --freeze leaves; lora: W + (alpha/R)·B·A;\n"
              "             svd: the residual of the R smallest singular values of W, Effort) --targets q,v (of "
              "q,k,v,out,\n"
              "             fc1,fc2, each block's linear layers by their HuggingFace names) --towers vision,text "
              "--rank 8\n"
              "             --lora-alpha 2R --lora-dropout 0 --also-train WORDS (layer-norm, logit-scale, "
              "last-blocks=K;\n"
              "             everything else, logit_scale included, is frozen). DIR/best.safetensors is then the "
              "merged\n"
              "             plain checkpoint and DIR/adapter.safetensors the factors (clipft merge, --adapter of\n"
              "             encode, eval, zero-shot). The JSON line reports trainable_parameters.\n"
              "             --svd-orthogonality 0 (svd only): adds lambda·sum over the adapted weights of Effort's\n"
              "             regularisers, ||[U_p U_R]^T [U_p U_R] - I||^2 + ||[V_p; V_R] [V_p; V_R]^T - I||^2 (the\n"
              "             residual's singular vectors orthonormal and orthogonal to the frozen principal ones) +\n"
              "             | ||W_adapted||^2 - ||W||^2 | (Frobenius; the weight's energy kept), to the training loss\n"
              "             (logged with it); keeps the principal vectors, about two copies of each adapted weight.\n"
              "             --method prompt: --prompt-context 4 learned vectors after the start token of every\n"
              "             description (CoOp; every CLIP weight frozen), from the embeddings of --prompt-init TEXT\n"
              "             or random, --prompt-per-class: one context per class; DIR/prompts.safetensors\n"
              "             (--prompts of encode, eval, zero-shot).\n"
              "  memory:    --checkpoint-activations  (each block's activations recomputed in the backward pass)\n"
              "Ctrl-C (or SIGTERM) finishes the current update, writes the checkpoint and exits with 130 (143);\n"
              "--resume continues exactly there. A second Ctrl-C stops at once; the last checkpoint stays intact.\n"
              "  fakes:     --fakes data|self-blended|self-blended+data  self-blended: real faces of a `clipft faces`\n"
              "             manifest alone (its landmarks); each real is paired in its group with its own self-blend,\n"
              "             made anew every epoch (seeded by the image and the epoch); +data adds the blends to the\n"
              "             dataset's fakes (groups then unpaired)\n"
              "  pairing:   --pair-by none|source  source: every group holds a real video and fakes made from it\n"
              "             (the manifest's source column)\n"
              "  split:     without --validation, --validation-fraction of the videos is held out by identity (FF++'s\n"
              "             fake a_b, real a and real b on one side); DIR/split.csv records where each video went\n" +
              std::string(self_blend_options_help),
          joined(joined({{"model", Kind::value},
                         {"data", Kind::value},
                         {"descriptions", Kind::value},
                         {"out", Kind::value},
                         {"config", Kind::value, ""},
                         {"classes", Kind::value, "real,fake"},
                         {"validation", Kind::value, ""},
                         {"validation-fraction", Kind::value, "0.1"},
                         {"per-class", Kind::value, ""},
                         {"k", Kind::value, "2"},
                         {"description-draw", Kind::value, "batch"},
                         {"accumulate", Kind::value, "1"},
                         {"max-steps", Kind::value, "-1"},
                         {"clip-norm", Kind::value, "0"},
                         {"freeze", Kind::value, "full"},
                         {"vocab", Kind::value, ""},
                         {"scoring", Kind::value, "mean"},
                         {"seed", Kind::value, "0"},
                         {"threads", Kind::value, ""},
                         {"checkpoint-every", Kind::value, "0"},
                         {"resume", Kind::flag, ""},
                         {"quiet", Kind::flag, ""},
                         {"augment", Kind::value, ""},
                         {"prefetch", Kind::flag, ""},
                         {"device", Kind::value, "cpu"},
                         {"precision", Kind::value, "float32"},
                         {"distributed", Kind::value, "auto"},
                         {"collective-timeout", Kind::value, "600"},
                         {"class-from", Kind::value, "label"},
                         {"method", Kind::value, "full"},
                         {"targets", Kind::value, "q,v"},
                         {"towers", Kind::value, "vision,text"},
                         {"rank", Kind::value, "8"},
                         {"lora-alpha", Kind::value, ""},
                         {"lora-dropout", Kind::value, "0"},
                         {"also-train", Kind::value, ""},
                         {"checkpoint-activations", Kind::flag, ""},
                         {"svd-orthogonality", Kind::value, "0"},
                         {"prompt-context", Kind::value, "4"},
                         {"prompt-init", Kind::value, ""},
                         {"prompt-per-class", Kind::flag, ""},
                         {"fakes", Kind::value, "data"},
                         {"pair-by", Kind::value, "none"}},
                        recipe_option_specs()),
                 self_blend_option_specs()),
          finetune}},
        {"info",
         {"print the version, thread count, BLAS kernel and bfloat16 product kernel as JSON", "clipft info", {}, info}},
        {"interpolate",
         {"WiSE-FT: interpolate two checkpoints (or two linear probes) weight by weight",
          "clipft interpolate --from ZERO_SHOT --to FINE_TUNED --alpha A --out OUT.safetensors [--quiet]\n"
          "Writes theta = (1 - A) theta_from + A theta_to for every floating tensor (computed in double) in\n"
          "FINE_TUNED's layout and dtypes; non-floating tensors must be equal. The two may be .safetensors\n"
          "files or HuggingFace model folders, under OpenAI or HuggingFace names, in F32, F16 or BF16; both\n"
          "may instead be linear probe files of clipft probe (e.g. the zero-shot head and a fitted one).\n"
          "Different configs, names, shapes or integer tensors: exit 1 naming the tensor, nothing written.\n"
          "A = 0 gives ZERO_SHOT's values exactly. --alpha 0,0.1,...,1 or 0:1:0.1 (several values): --out is\n"
          "a folder that gets alpha-<a>.safetensors for each. Prints one JSON line: from, to, tensors, written.",
          {{"from", Kind::value},
           {"to", Kind::value},
           {"alpha", Kind::value},
           {"out", Kind::value},
           {"quiet", Kind::flag, ""}},
          interpolate}},
        {"loss",
         {"group contrastive loss, every gradient and one AdamW step of a batch file, as safetensors",
          "clipft loss --model PATH --batch FILE --out FILE [--lr 1e-3] [--beta1 0.9] [--beta2 0.98] [--eps 1e-6]\n"
          "                  [--weight-decay 0.2] [--precision float32|bfloat16] [--checkpoint-activations]\n"
          "FILE holds pairs (pixel_values [n,2,3,R,R] + input_ids [2,L]) or groups (pixel_values [g,k,3,R,R] +\n"
          "class_ids [g,k] + input_ids [C,L], or [C,D,L] with desc_choice [g,k]). Computes the group\n"
          "contrastive loss, every gradient, and one AdamW step on every parameter (weight decay included),\n"
          "and writes loss, grad.<name> and after.<name> in full under the checkpoint's own names. --precision\n"
          "bfloat16 computes the products of the loss and its gradients in bfloat16 (the step stays float).\n"
          "--checkpoint-activations recomputes each block's activations in the backward pass (less memory).",
          {{"model", Kind::value},
           {"batch", Kind::value},
           {"out", Kind::value},
           {"lr", Kind::value, "1e-3"},
           {"beta1", Kind::value, "0.9"},
           {"beta2", Kind::value, "0.98"},
           {"eps", Kind::value, "1e-6"},
           {"weight-decay", Kind::value, "0.2"},
           {"precision", Kind::value, "float32"},
           {"checkpoint-activations", Kind::flag, ""}},
          loss}},
        {"merge",
         {"fold an adapter file (clipft finetune --method lora|svd) into its base model: a plain checkpoint",
          "clipft merge --model BASE --adapter FILE --out OUT [--layout openai|huggingface]\n"
          "Applies FILE (DIR/adapter.safetensors of clipft finetune --method lora|svd) to the checkpoint it was\n"
          "trained from (checked by the base model's hash in FILE), adds each adapter's weight change to its\n"
          "weight, and writes OUT: a .safetensors file or a model directory, loadable by every command.\n"
          "Prints one JSON line: merged, method, rank, targets.",
          {{"model", Kind::value}, {"adapter", Kind::value}, {"out", Kind::value}, {"layout", Kind::value, "openai"}},
          merge}},
        {"metrics",
         {"ROC AUC, average precision, EER, precision, recall, accuracy of scores in a CSV file, as JSON",
          "clipft metrics --scores FILE.csv [--threshold 0.5] [--roc-plot FILE.svg] [--video-score "
          "mean|max-face-mean]\n"
          "FILE.csv: columns label,score[,subset][,video], label 1 = positive (fake), 0 = negative (real);\n"
          "a header line names them (any order, other columns ignored), without one they are taken in\n"
          "this order. Prints one JSON object: auc, ap, eer, precision, recall, accuracy, f1 (prediction\n"
          "positive iff score >= threshold), threshold, n_pos, n_neg; with a subset column also \"subsets\":\n"
          "the same for each subset holding positives (a subset without negatives of its own, e.g. one\n"
          "manipulation, against every negative); with a video column also \"videos\": the same over videos,\n"
          "a video scoring the mean of its frames' scores. Definitions as scikit-learn's. --roc-plot\n"
          "draws the ROC curves (all rows, each subset, videos) as an SVG file. --video-score max-face-mean\n"
          "(DeepfakeBench's protocol) scores a frame (its video and a `frame` column) by its highest face\n"
          "score and a video by the mean over its frames; mean (the default) by the mean over its rows.",
          {{"scores", Kind::value},
           {"threshold", Kind::value, "0.5"},
           {"roc-plot", Kind::value, ""},
           {"video-score", Kind::value, "mean"}},
          metrics}},
        {"preprocess",
         {"CLIP image preprocessing of image files, one [3,S,S] tensor per file, as safetensors",
          "clipft preprocess [--size 224] --out FILE IMG...\n"
          "Loads each JPEG, PNG or BMP image (turned upright by its EXIF orientation), resizes its\n"
          "shorter side to S with Pillow's antialiased bicubic filter, center-crops S x S, scales to\n"
          "[0, 1] and normalises with CLIP's mean and std, as OpenAI's CLIP preprocessing. Writes one F32\n"
          "tensor [3,S,S] per image, named by the image's file name.",
          {{"size", Kind::value, "224"}, {"out", Kind::value}},
          preprocess}},
        {"probe",
         {"fit a linear probe (logistic regression) or kNN on frozen features, or write the zero-shot head",
          "clipft probe (--features F.safetensors | --model PATH --data DIR|CSV) --out P.safetensors\n"
          "             [--method logistic|knn|zero-shot] [--C 1.0|auto] [--k 5] [--init zero|zero-shot]\n"
          "             [--descriptions SET] [--classes real,fake] [--validation-fraction 0.2] [--seed 0]\n"
          "             [--max-iterations 10000] [--batch 32] [--vocab PATH] [--threads N] [--quiet]\n"
          "             [--precision float32|bfloat16]\n"
          "logistic: multinomial logistic regression with scikit-learn's objective C * sum CE + 1/2 ||W||^2 (bias\n"
          "not penalised), solved to convergence by L-BFGS in double precision; writes probe.weight [K,D] and\n"
          "probe.bias [K] (P(class) = softmax(W x + b)). --C auto picks C from 1e-2 .. 1e4 by the cross-entropy\n"
          "on --validation-fraction of the videos, then refits on all. --init zero-shot starts from the zero-shot\n"
          "head. knn: scikit-learn's KNeighborsClassifier(metric=\"cosine\"), P(class) = share of the k most similar\n"
          "training rows; writes knn.features, knn.labels. zero-shot: the descriptions' mean normalised embedding\n"
          "per class times exp(logit_scale) as probe.weight (needs --model and --descriptions). With --model and\n"
          "--data the features are computed first (as clipft features) into --features or P.features.safetensors.\n"
          "Metadata: method, classes, C, k, model_hash. Use with clipft eval --probe P. Prints one JSON line.\n"
          "--precision bfloat16 encodes the images and descriptions it encodes with bfloat16 products.",
          {{"features", Kind::value, ""},
           {"model", Kind::value, ""},
           {"data", Kind::value, ""},
           {"out", Kind::value},
           {"method", Kind::value, "logistic"},
           {"C", Kind::value, "1.0"},
           {"k", Kind::value, "5"},
           {"init", Kind::value, "zero"},
           {"descriptions", Kind::value, ""},
           {"classes", Kind::value, "real,fake"},
           {"validation-fraction", Kind::value, "0.2"},
           {"seed", Kind::value, "0"},
           {"max-iterations", Kind::value, "10000"},
           {"batch", Kind::value, "32"},
           {"vocab", Kind::value, ""},
           {"threads", Kind::value, ""},
           {"precision", Kind::value, "float32"},
           {"quiet", Kind::flag, ""}},
          probe}},
        {"sbi",
         {"self-blended fakes (and their masks) of the real face crops of a clipft faces manifest",
          std::string(
              "clipft sbi --data MANIFEST --out DIR [--seed 0] [--per-face 1] [--threads N] [--quiet] [--sbi-* ...]\n"
              "For each real crop (label real, or every row of a manifest without labels) of a `clipft faces`\n"
              "manifest, using its landmarks, writes K self-blended fakes (Shiohara and Yamasaki, CVPR 2022) of the\n"
              "crop's size as DIR/<crop>_sbiK.png and each one's mask as DIR/<crop>_sbiK_mask.png (8-bit gray: the\n"
              "weight of the blended-in copy, 0 exactly where the fake equals the crop), and DIR/manifest.csv with\n"
              "columns path,label,subset,video,source_crop,mask (label fake, subset SelfBlended, paths relative to\n"
              "DIR, source_crop absolute). Fake K of crop r is drawn from a seed of --seed, r and K: the same seed\n"
              "gives the same files. A manifest without landmarks is an error and nothing is written. Prints one\n"
              "JSON line: real_crops, fakes, manifest.\n") +
              self_blend_options_help,
          joined({{"data", Kind::value},
                  {"out", Kind::value},
                  {"seed", Kind::value, "0"},
                  {"per-face", Kind::value, "1"},
                  {"threads", Kind::value, ""},
                  {"quiet", Kind::flag, ""}},
                 self_blend_option_specs()),
          sbi}},
        {"synth",
         {"a generated face dataset (real faces, self-blended fakes, face swaps) to try everything without data",
          "clipft synth --out DIR [--images N] [--size 96] [--seed S]\n"
          "Draws N synthetic faces (procedural, not photographs) and N fakes, half self-blended and half\n"
          "face swaps (the demo's forgeries), and writes them as PNG images of S x S pixels:\n"
          "DIR/real/*.png, DIR/fake/SelfBlended/*.png, DIR/fake/FaceSwap/*.png, the dataset folder layout of\n"
          "clipft finetune and clipft-experiment (the manipulation is each fake's subset). The same seed\n"
          "gives the same images. DIR/real and DIR/fake must not hold files yet. Prints one JSON line:\n"
          "folder, real, fake (per manipulation), size, seed.",
          {{"out", Kind::value},
           {"images", Kind::value, "200"},
           {"size", Kind::value, "96"},
           {"seed", Kind::value, "0"}},
          synth}},
        {"tokenize",
         {"CLIP token ids of texts, one JSON array per line",
          "clipft tokenize --vocab PATH [--context N [--truncate]] TEXT...\n"
          "PATH: bpe_simple_vocab_16e6.txt.gz, or a directory with vocab.json + merges.txt. Without\n"
          "--context: the full encoding, 49406 first and 49407 last. With --context N: exactly N ids,\n"
          "0-padded; a longer text is an error unless --truncate (then the last id is 49407).",
          {{"vocab", Kind::value}, {"context", Kind::value, ""}, {"truncate", Kind::flag, ""}},
          tokenize}},
        {"zero-shot",
         {"score a dataset with pretrained CLIP and descriptions, no training (as clipft eval)",
          std::string("clipft zero-shot ") + evaluate_usage, evaluate_options(), evaluate}},
    };
    return table;
}

} // namespace

int main(int argc, char** argv) { return run_command_line("clipft", commands(), {argv + 1, argv + argc}); }
