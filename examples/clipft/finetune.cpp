// clipft finetune: the thesis' fine-tuning (group contrastive loss, AdamW, warm-up + cosine restarts,
// early stopping) of a CLIP checkpoint on a dataset folder or manifest with a description set.
// Settings come from flags, or from a JSON config file whose keys are the flag names; flags win.
// Under mpirun every process is one rank of a data-parallel run (clipft/distributed/launch.hpp).
// In a build with CUDA this file is compiled by nvcc (examples/CMakeLists.txt), so that --device
// cuda trains on the GPU; include/clipft/backends.hpp keeps it apart from the CPU-only files.
#include "adapted_model.hpp"
#include "class_from.hpp"
#include "options.hpp"
#include "recipe.hpp"
#include "self_blend_options.hpp"

#include <clipft/clip.hpp>
#include <clipft/data/identity_split.hpp>
#include <clipft/data/self_blended.hpp>
#include <clipft/distributed/launch.hpp>
#include <clipft/io/csv_write.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

namespace clipft::cli {

namespace {

// --device: "cuda" alone gives each rank on a machine a GPU of its own.
Device device_from(const Options& settings, const distributed::Communicator& ranks) {
    Device device = Device::parse(settings.text("device"));
#ifndef CLIPFT_WITH_CUDA
    if (device.is_cuda())
        throw UsageError(
            "--device " + settings.text("device") +
            ": this clipft was built without CUDA (nvcc was not found "
            "when it was configured); install the CUDA toolkit and build again, or train with --device cpu");
#endif
    if (settings.text("device") == "cuda") device.index = ranks.local_rank();
    return device;
}

// --method prompt: --prompt-context N vectors, from the token embeddings of --prompt-init TEXT (its
// tokens, N of them) or random; --prompt-per-class gives each class its own.
std::shared_ptr<models::PromptContext<float>> prompt_context_from(const Options& settings,
                                                                  const models::CLIP<float>& model,
                                                                  const text::Tokenizer& tokenizer,
                                                                  std::int64_t classes, Generator& generator) {
    const std::int64_t per_class = settings.flag("prompt-per-class") ? classes : 0;
    std::int64_t length = settings.integer("prompt-context");
    if (!settings.has("prompt-init")) {
        if (length < 1) throw UsageError("--prompt-context must be >= 1, got " + settings.text("prompt-context"));
        return models::PromptContext<float>::random(length, model.config.text.width, per_class, generator);
    }
    std::vector<std::int64_t> ids = tokenizer.encode(settings.text("prompt-init"));
    if (ids.empty()) throw UsageError("--prompt-init '" + settings.text("prompt-init") + "' has no tokens");
    if (settings.given("prompt-context") && length != std::int64_t(ids.size()))
        throw UsageError("--prompt-init '" + settings.text("prompt-init") + "' is " + std::to_string(ids.size()) +
                         " tokens, --prompt-context says " + settings.text("prompt-context") + "; give one of them");
    length = std::int64_t(ids.size());
    NoGradGuard no_grad;
    Tensor<float> words =
        model.text.token_embedding(Tensor<std::int64_t>::from_vector(ids, {length}).to(model.device()))
            .to(Device::cpu());
    Tensor<float> initial =
        per_class ? words.reshape({1, length, -1}).expand({per_class, length, words.size(1)}) : words;
    return std::make_shared<models::PromptContext<float>>(initial);
}

int fine_tune(const Options& options, const std::shared_ptr<distributed::Communicator>& ranks) {
    // Settings: flags, else the config file's values, else the defaults.
    Options settings = options;
    if (options.given("config")) {
        io::Json config = io::read_json_file(options.text("config"));
        if (!config.is_object())
            fail(options.text("config"), ": the config must be a JSON object of flag names and values");
        std::map<std::string, std::string> values;
        for (const auto& [key, value] : config.items()) {
            if (key == "config") throw UsageError(options.text("config") + ": a config cannot name another config");
            values[key] = value.is_string() ? value.get<std::string>() : value.dump();
        }
        try {
            settings.set_fallbacks(values);
        } catch (const UsageError& error) {
            throw UsageError(options.text("config") + ": " + error.what());
        }
    }
    if (settings.has("threads")) {
        set_num_threads(int(settings.integer("threads")));
    } else if (ranks->local_size() > 1 && !std::getenv("CLIPFT_NUM_THREADS")) {
        // The ranks on one machine share its cores instead of each taking all of them.
        set_num_threads(std::max(1, backend::default_thread_count() / ranks->local_size()));
    }

    // Data and descriptions: class order comes from --classes (the description set's files must match).
    const std::vector<std::string> classes = split_names(settings.text("classes"));
    if (classes.size() < 2) throw UsageError("--classes needs at least two class names, e.g. real,fake");
    text::DescriptionSet descriptions =
        text::DescriptionSet::load(text::find_description_set(settings.text("descriptions")), classes);
    const std::uint64_t seed = std::uint64_t(settings.integer("seed"));
    const data::ClassFrom class_from = class_source(settings);
    // --fakes self-blended: real faces alone (their fakes are made while training); +data keeps the dataset's fakes.
    const std::string fakes = settings.choice("fakes", {"data", "self-blended", "self-blended+data"});
    const bool self_blended = fakes != "data";
    if (self_blended && classes.size() != 2)
        throw UsageError("--fakes " + fakes + " needs two classes, real and fake (--classes)");
    if (self_blended && class_from != data::ClassFrom::label)
        throw UsageError("--fakes " + fakes +
                         " takes the classes real and fake from the labels: leave out --class-from subset");
    auto open_data = [&](const std::string& path) {
        return self_blended ? data::Dataset::open(path, classes, false)
                            : data::Dataset::open(path, classes, class_from);
    };
    data::Dataset train_data = open_data(settings.text("data")), validation_data;
    if (fakes == "self-blended")
        train_data = train_data.filter([](const data::Sample& sample) { return sample.label == 0; });
    if (self_blended) data::require_landmarks(train_data, 0, settings.text("data"));
    std::vector<std::pair<std::string, data::SplitPart>> split_videos; // where each video went, for DIR/split.csv
    if (settings.has("validation")) {
        validation_data = open_data(settings.text("validation"));
        if (fakes == "self-blended")
            validation_data = validation_data.filter([](const data::Sample& sample) { return sample.label == 0; });
    } else {
        // By identity: FF++'s fake a_b, real a and real b all on one side (data/identity_split.hpp).
        data::IdentitySplit split =
            data::split_dataset_by_identity(train_data, settings.number("validation-fraction"), seed);
        train_data = std::move(split.train), validation_data = std::move(split.held_out),
        split_videos = std::move(split.videos);
    }
    if (settings.has("per-class")) train_data = train_data.balanced(settings.integer("per-class"), seed);

    // The model, with the freeze policy applied before the optimizer sees it, on the training device.
    const Device device = device_from(settings, *ranks);
    const Precision precision = parse_precision(settings.text("precision"));
    if (precision == Precision::float16 && device.is_cpu())
        throw UsageError("--precision float16 applies to a GPU's products (--device cuda); on the CPU use float32 or "
                         "bfloat16");
    const std::filesystem::path model_path = settings.text("model");
    auto model = models::load_clip<float>(model_path);
    Generator generator(seed);
    const std::string method = settings.text("method");
    if (method != "full" && method != "lora" && method != "svd" && method != "prompt")
        throw UsageError("--method must be full, lora, svd or prompt, got '" + method + "'");
    // --svd-orthogonality λ: Effort's regularisers λ·Σ (L_orth + L_ksv) over the SVD residuals.
    const double svd_orthogonality = settings.number("svd-orthogonality");
    if (!(svd_orthogonality >= 0) || !std::isfinite(svd_orthogonality))
        throw UsageError("--svd-orthogonality must be a finite weight >= 0 (0: off), got " +
                         settings.text("svd-orthogonality"));
    if (svd_orthogonality > 0 && method != "svd")
        throw UsageError("--svd-orthogonality regularises the SVD residual: it goes with --method svd, not --method " +
                         method);
    std::optional<models::AdapterOptions> adapters;
    std::string base_model_hash;
    if (method == "full") {
        if (settings.has("also-train"))
            throw UsageError("--also-train goes with --method lora|svd; with --method full use --freeze");
        train::apply_freeze_policy(train::FreezePolicy::parse(settings.text("freeze")), *model, generator);
    } else if (method == "prompt") {
        if (settings.text("freeze") != "full" || settings.has("also-train"))
            throw UsageError("--method prompt trains the prompt context alone; leave out --freeze and --also-train");
        base_model_hash = models::parameter_hash(*model);
        for (auto& [name, parameter] : model->named_parameters()) parameter.requires_grad_(false);
    } else {
        if (settings.text("freeze") != "full")
            throw UsageError("--freeze applies to --method full; with --method " + method +
                             " name what else trains with --also-train");
        adapters = adapter_options_from(settings);
        adapters->svd_principal_basis = svd_orthogonality > 0;
        base_model_hash = models::parameter_hash(*model);
        freeze_base(*model, settings.has("also-train") ? settings.text("also-train") : "", *adapters);
        try {
            models::attach_adapters(*model, *adapters, generator);
        } catch (const Error& error) {
            throw UsageError(std::string("--rank ") + settings.text("rank") + ": " + error.what());
        }
    }
    if (settings.flag("checkpoint-activations")) {
        if (adapters && adapters->lora.dropout > 0)
            throw UsageError(
                "--checkpoint-activations recomputes each block in the backward pass, where --lora-dropout "
                "would draw other masks; use one or the other");
        model->visual.transformer.checkpoint_activations = model->text.transformer.checkpoint_activations = true;
    }
    model->to(device);
    std::filesystem::path vocabulary =
        settings.has("vocab") ? std::filesystem::path(settings.text("vocab")) : text::model_vocabulary(model_path);
    const text::Tokenizer tokenizer = text::Tokenizer::load(vocabulary);
    auto table = text::TokenizedDescriptions::from_texts(descriptions.descriptions, tokenizer,
                                                         model->config.text.context_length);
    if (method == "prompt") {
        model->text.set_prompt(prompt_context_from(settings, *model, tokenizer, table.classes(), generator));
        model->text.prompt->set_descriptions(table);
        model->to(device);
    }
    const std::int64_t trainable_parameters = models::trainable_parameter_count(*model);

    train::TrainerOptions trainer_options = recipe_trainer_options(settings, table);
    const std::int64_t k = settings.integer("k"), images = settings.integer("batch");
    if (k < 2 || images % k != 0)
        throw UsageError("--batch (images) must be a multiple of --k (classes per group) >= 2");
    if (k > std::int64_t(classes.size()))
        throw UsageError("--k " + std::to_string(k) + " is larger than the number of classes (" +
                         std::to_string(classes.size()) + ": " + settings.text("classes") +
                         "); a group holds k distinct classes");
    const std::string draw = settings.text("description-draw");
    if (draw != "batch" && draw != "group")
        throw UsageError("--description-draw must be batch or group, got '" + draw + "'");
    trainer_options.sampler = {.k = k,
                               .groups_per_batch = images / k,
                               .description_draw = draw == "batch" ? train::DescriptionDraw::per_batch
                                                                   : train::DescriptionDraw::per_group,
                               .seed = seed};
    trainer_options.accumulation_steps = settings.integer("accumulate");
    trainer_options.max_steps = settings.integer("max-steps");
    trainer_options.max_gradient_norm = settings.number("clip-norm");
    trainer_options.checkpoint_every = settings.integer("checkpoint-every");
    trainer_options.scoring = eval::ScoringOptions::parse(settings.text("scoring"));
    trainer_options.output_dir = settings.text("out");
    trainer_options.progress = !settings.flag("quiet");
    trainer_options.prefetch = settings.flag("prefetch");
    trainer_options.precision = precision;
    trainer_options.positive_class = std::int64_t(classes.size()) - 1;
    trainer_options.communicator = ranks;
    if (svd_orthogonality > 0)
        trainer_options.extra_loss = [&adapted = *model, weight = float(svd_orthogonality)] {
            return models::svd_residual_penalty(adapted) * weight;
        };

    if (ranks->size() > 1 && ranks->is_root())
        std::fprintf(stderr,
                     "clipft finetune: %d ranks (%s), each training on its share of the %lld groups of every batch\n",
                     ranks->size(), ranks->backend().c_str(), (long long)trainer_options.sampler.groups_per_batch);
    if (ranks->is_root())
        std::fprintf(
            stderr,
            "clipft finetune: %zu training images (%s), %zu validation images, %zu descriptions, freeze %s, on %s\n",
            train_data.size(),
            [&] {
                std::string counts;
                auto per_class = train_data.count_per_class();
                for (std::size_t c = 0; c < classes.size(); ++c)
                    counts += (c ? ", " : "") + std::to_string(per_class[c]) + " " + classes[c];
                return counts;
            }()
                .c_str(),
            validation_data.size(), descriptions.size(), settings.text("freeze").c_str(),
            [&] {
                std::ostringstream where;
                where << device << (device.is_cuda() ? ", " + settings.text("precision") : "");
                return where.str();
            }()
                .c_str());
    const image::PreprocessOptions preprocess{.size = model->config.vision.image_size};
    std::optional<image::Augmentation> augmentation;
    if (settings.has("augment")) augmentation = image::Augmentation::parse(settings.text("augment"));
    data::ImageSet train_images, validation_images;
    if (self_blended) {
        data::SelfBlendedSetOptions blending{self_blend_options(settings), seed, fakes == "self-blended+data"};
        train_images =
            data::self_blended_set(train_data, 0, 1, preprocess, augmentation, blending, settings.text("data"));
        validation_images =
            data::self_blended_set(validation_data, 0, 1, preprocess, std::nullopt, blending,
                                   settings.has("validation") ? settings.text("validation") : settings.text("data"));
    } else {
        train_images = data::image_set(train_data, preprocess, augmentation);
        validation_images = data::image_set(validation_data, preprocess);
    }
    // --pair-by source: each group a real video and fakes made from it (the manifest's source column).
    if (settings.choice("pair-by", {"none", "source"}) == "source") {
        if (self_blended)
            throw UsageError("--pair-by source pairs the dataset's own fakes; with --fakes " + fakes +
                             " each real is paired with its own blend");
        for (auto [dataset, image_set] :
             {std::pair{&train_data, &train_images}, {&validation_data, &validation_images}}) {
            std::map<std::string, std::int64_t> key_of;
            for (const data::Sample& sample : dataset->samples) {
                if (sample.source.empty())
                    fail(sample.path.string(), ": no source video; --pair-by source needs the manifest's source column "
                                               "(written by clipft dataset and kept by clipft faces --manifest)");
                image_set->pair_keys.push_back(
                    key_of.emplace(sample.source, std::int64_t(key_of.size())).first->second);
            }
        }
    }
    train::Trainer trainer(*model, std::move(train_images), std::move(validation_images), table, trainer_options);
    if (settings.flag("resume")) {
        if (!std::filesystem::exists(trainer.checkpoint_path()))
            fail(trainer.checkpoint_path().string(), ": no checkpoint to resume from (run without --resume to start)");
        // A finished adapter or prompt run left the merged (plain) best.safetensors; the trainer keeps
        // its best weights with the adapters or prompt unmerged: rebuild that from the base and the factors.
        const std::filesystem::path adapter_file = trainer_options.output_dir / "adapter.safetensors",
                                    prompts_file = trainer_options.output_dir / "prompts.safetensors";
        const bool finished = (adapters && std::filesystem::exists(adapter_file)) ||
                              (method == "prompt" && std::filesystem::exists(prompts_file));
        if (finished && ranks->is_root()) {
            auto unmerged = models::load_clip<float>(model_path);
            if (adapters)
                models::apply_adapters(*unmerged, adapter_file);
            else
                unmerged->text.set_prompt(models::load_prompts<float>(prompts_file, unmerged->config.text.width).first);
            models::save_clip(*unmerged, trainer.best_path(), models::CheckpointLayout::openai);
        }
        trainer.resume(trainer.checkpoint_path());
    }
    // The settings of the run, next to its results, so that it can be repeated.
    io::Json used = io::Json::object();
    for (const std::string& name : options.names())
        if (name != "config" && settings.has(name)) used[name] = settings.text(name);
    if (ranks->is_root())
        io::write_file_atomically(trainer_options.output_dir / "settings.json",
                                  [&](io::FileWriter& writer) { writer.write(used.dump(1) + "\n"); });
    if (ranks->is_root() && !split_videos.empty()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& [video, part] : split_videos)
            rows.push_back({video, part == data::SplitPart::train      ? "train"
                                   : part == data::SplitPart::held_out ? "validation"
                                                                       : "dropped"});
        io::write_csv(trainer_options.output_dir / "split.csv", {"video", "split"}, rows);
    }

    train::stop_training_on_signals();
    train::TrainingSummary summary = trainer.run();
    if (summary.interrupted_by) {
        if (ranks->is_root())
            std::fprintf(
                stderr,
                "clipft finetune: interrupted after update %lld; checkpoint saved in %s (continue with --resume)\n",
                (long long)summary.steps, trainer.checkpoint_path().c_str());
        return 128 + summary.interrupted_by; // the shell's convention for a run ended by a signal
    }
    // Adapters: the factors in DIR/adapter.safetensors, and best.safetensors becomes the merged plain checkpoint.
    const std::filesystem::path best = trainer.best_path(),
                                adapter_file = trainer_options.output_dir / "adapter.safetensors";
    if (adapters && ranks->is_root() && std::filesystem::exists(best)) {
        model->to(Device::cpu());
        models::save_adapters(*model, *adapters, base_model_hash, adapter_file);
        models::merge_adapters(*model);
        models::save_clip(*model, best, models::CheckpointLayout::openai);
    }
    const std::filesystem::path prompts_file = trainer_options.output_dir / "prompts.safetensors";
    if (method == "prompt" && ranks->is_root() &&
        std::filesystem::exists(best)) { // best: the base, which prompt training leaves
        models::save_prompts(*model->text.prompt, base_model_hash, prompts_file);
        model->text.set_prompt(nullptr);
        models::save_clip(*model, best, models::CheckpointLayout::openai);
    }
    auto existing = [](const std::filesystem::path& path) {
        return std::filesystem::exists(path) ? io::Json(path.string()) : io::Json();
    };
    io::Json result = {{"steps", summary.steps},
                       {"epochs", summary.epochs},
                       {"best_epoch", summary.best_epoch + 1},
                       {"best_validation_loss", summary.best_validation_loss},
                       {"best_validation_auc",
                        std::isnan(summary.best_validation_auc) ? io::Json() : io::Json(summary.best_validation_auc)},
                       {"stopped_early", summary.stopped_early},
                       {"best_weights", existing(best)},
                       {"loss_plot", existing(trainer_options.output_dir / "loss.svg")},
                       {"method", method},
                       {"trainable_parameters", trainable_parameters}};
    if (adapters) result["adapter"] = existing(adapter_file);
    if (method == "prompt") result["prompts"] = existing(prompts_file);
    if (ranks->is_root()) std::cout << result.dump() << "\n";
    return 0;
}

} // namespace

// A rank's failure ends every rank at once, with its message, instead of leaving the others to wait
// for their collective timeout.
int finetune(const Options& options) {
    const std::shared_ptr<distributed::Communicator> ranks =
        distributed::join_ranks(distributed::parse_backend(options.text("distributed")),
                                std::chrono::duration<double>(options.number("collective-timeout")));
    if (ranks->size() == 1) return fine_tune(options, ranks);
    try {
        return fine_tune(options, ranks);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "clipft finetune: rank %d of %d: %s\n", ranks->rank(), ranks->size(), error.what());
        ranks->abort(dynamic_cast<const UsageError*>(&error) ? 2 : 1);
    }
}

} // namespace clipft::cli
