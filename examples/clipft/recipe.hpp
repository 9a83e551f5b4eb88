#pragma once
// The trainer's options of the recipe options (recipe_options.hpp), one parser for clipft finetune
// and clipft-experiment.
#include "options.hpp"
#include "recipe_options.hpp"

#include <clipft/optim/schedule.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/train/trainer.hpp>

#include <algorithm>
#include <string>

namespace clipft::cli {

// --lr, else the thesis' peak: 6e-7 with one description per class, 8e-7 with several.
inline double peak_learning_rate(const Options& settings, const text::TokenizedDescriptions& descriptions) {
    if (settings.has("lr")) {
        const double peak = settings.number("lr");
        if (!(peak >= 0)) throw UsageError("--lr must be >= 0, got " + settings.text("lr"));
        return peak;
    }
    const bool several = std::any_of(descriptions.counts.begin(), descriptions.counts.end(),
                                     [](std::int64_t count) { return count > 1; });
    return several ? 8e-7 : 6e-7;
}

// --schedule with its knobs, peaking at `peak`.
inline optim::LearningRateSchedule schedule_option(const Options& settings, double peak) {
    const std::string kind = settings.choice("schedule", {"cosine", "constant", "step"});
    try {
        if (kind == "constant") return optim::LearningRateSchedule::constant_rate(peak);
        if (kind == "step")
            return optim::LearningRateSchedule::step_decay(peak, settings.integer("step-size"),
                                                           settings.number("gamma"));
        return optim::LearningRateSchedule::warmup_cosine(peak, settings.integer("warmup"), settings.integer("cosine"));
    } catch (const UsageError&) {
        throw;
    } catch (const Error& error) { // out of range: LearningRateSchedule says which value
        throw UsageError("--schedule " + kind + ": " + error.what());
    }
}

// The recipe's part of the trainer's options: length, AdamW, the schedule and early stopping. The
// caller adds the groups (--batch images in groups of its k), the output folder, the device and the rest.
inline train::TrainerOptions recipe_trainer_options(const Options& settings,
                                                    const text::TokenizedDescriptions& descriptions) {
    train::TrainerOptions options;
    options.max_epochs = settings.integer("epochs");
    options.batches_per_epoch = settings.integer("batches-per-epoch");
    options.beta1 = settings.number("beta1");
    options.beta2 = settings.number("beta2");
    options.eps = settings.number("eps");
    if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1) || !(options.eps >= 0))
        throw UsageError("--beta1 and --beta2 must lie in [0, 1) and --eps be >= 0, got " + settings.text("beta1") +
                         ", " + settings.text("beta2") + " and " + settings.text("eps"));
    options.weight_decay = settings.number("weight-decay");
    options.decay_all_parameters = settings.flag("decay-all");
    options.schedule = schedule_option(settings, peak_learning_rate(settings, descriptions));
    options.early_stopping.patience = settings.integer("patience");
    options.early_stopping.min_relative_improvement = settings.number("min-improvement");
    return options;
}

} // namespace clipft::cli
