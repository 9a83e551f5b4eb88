#pragma once
// The fine-tuning loop of the thesis (section 7): group contrastive loss, AdamW with a scheduled
// learning rate, validation every epoch (loss on fixed groups, AUC of the positive class), early
// stopping, the best weights kept, and checkpoints from which a run resumes bit for bit. With more
// than two classes validation reports the macro one-vs-rest AUC (as "auc") and the accuracy.
//
// Files in the output folder:
//   checkpoint.safetensors  weights ("model.<name>"), AdamW moments ("exp_avg.<name>",
//                           "exp_avg_sq.<name>"), and the trainer's state as JSON (metadata "trainer";
//                           with the model's random streams, e.g. LoRA dropout's)
//   best.safetensors        the weights of the lowest validation loss, as an OpenAI-layout checkpoint
//   metrics.jsonl           one JSON object per logged training window and per validation
//   metrics.csv             one row per epoch
//   loss.svg, auc.svg       training and validation loss, and validation AUC, per epoch
//                           (these four: train/training_log.hpp)
// Every file is replaced atomically, so an interrupted run leaves the previous versions intact.
//
// Data-parallel (TrainerOptions::communicator with several ranks, e.g. under mpirun): every rank
// starts from rank 0's parameters, trains on its own groups of each global batch (train/
// distributed_sampler.hpp), and steps on the gradients averaged over the ranks (distributed/
// gradient_averaging.hpp), so that the replicas stay identical and the run is the one-process run of
// the same global batch up to float rounding. Validation is shared out and reduced, early stopping is
// decided on rank 0 and broadcast, and only rank 0 writes files and shows progress. Checkpoints hold
// no rank-specific state: a run resumes on any rank count (every rank reads the checkpoint).
//
// On a GPU: move the model there before constructing the trainer (model.to(Device::cuda(0))). The
// trainer trains where the model is: batches are decoded on the CPU and moved, products run in
// TrainerOptions::precision (autocast.hpp; float16 with dynamic loss scaling), and checkpoints are
// written from host copies, so a run resumes on either device.
#include <clipft/autocast.hpp>
#include <clipft/backends.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/data/prefetch.hpp>
#include <clipft/distributed/gradient_averaging.hpp>
#include <clipft/eval/evaluate.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/eval/multiclass.hpp>
#include <clipft/eval/scoring.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/optim/gradient_clipping.hpp>
#include <clipft/optim/loss_scaler.hpp>
#include <clipft/optim/schedule.hpp>
#include <clipft/progress.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/train/early_stopping.hpp>
#include <clipft/train/group_batch.hpp>
#include <clipft/train/interrupt.hpp>
#include <clipft/train/distributed_sampler.hpp>
#include <clipft/train/trainer_state.hpp>
#include <clipft/train/training_log.hpp>

#include <array>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <numeric>
#include <functional>
#include <optional>
#include <sstream>

namespace clipft::inline CLIPFT_BACKENDS::train {

using data::ImageSet;

struct TrainerOptions {
    GroupSamplerOptions sampler;         // k, groups per batch, description draw, seed
    std::int64_t accumulation_steps = 1; // batches whose gradients are summed before each update
    std::int64_t max_epochs = 100;
    std::int64_t max_steps = -1;         // optimizer updates in all; -1: no limit
    std::int64_t batches_per_epoch = 0;  // 0: one pass over the smallest class
    std::int64_t validation_batches = 0; // 0: one pass over the smallest validation class
    // AdamW's betas and eps (the thesis'); its learning rate is the schedule's, set before every update.
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6;
    double weight_decay = 0.2;
    bool decay_all_parameters = false; // false: no decay on gains, biases, embeddings, logit_scale
    optim::LearningRateSchedule schedule = optim::LearningRateSchedule::constant_rate(1e-6);
    double max_gradient_norm = 0; // 0: no clipping
    EarlyStopping early_stopping;
    std::int64_t checkpoint_every = 0; // also checkpoint every this many updates; 0: at epoch ends only
    std::int64_t log_every = 10;       // updates per training record in metrics.jsonl
    std::int64_t positive_class = -1;  // class whose probability is the score for AUC; -1: the last class
    eval::ScoringOptions scoring;
    std::filesystem::path output_dir = "run";
    bool progress = true;
    // Decode the next batch in the background (data/prefetch.hpp). Off by default: on 2 cores the
    // pool's two-thread decoding beat one background thread (bench/README.md, prefetching).
    bool prefetch = false;
    // The products' precision (autocast.hpp): bfloat16 on a GPU or a CPU with AVX512-BF16, float16 on a GPU.
    Precision precision = Precision::float32;
    optim::LossScalerOptions loss_scaler;                    // for float16
    std::shared_ptr<distributed::Communicator> communicator; // the ranks of a data-parallel run; null: one process
    // A term added to the training objective of every update (a regulariser, e.g. models::
    // svd_residual_penalty), on the model's device; null: none. Evaluated once per update, after
    // its batches, in float32 (its products outside the autocast of `precision`), and
    // back-propagated with them; the logged training loss includes it, the validation loss does not.
    std::function<Tensor<float>()> extra_loss;
};

struct TrainingSummary {
    std::int64_t steps = 0, epochs = 0, best_epoch = -1;
    double best_validation_loss = NAN, best_validation_auc = NAN;
    bool stopped_early = false;
    int interrupted_by = 0; // the signal that stopped the run (see train/interrupt.hpp), or 0
};

class Trainer {
public:
    Trainer(models::CLIP<float>& model, ImageSet train, ImageSet validation, text::TokenizedDescriptions descriptions,
            TrainerOptions options)
        : model_(model), train_(std::move(train)), validation_(std::move(validation)),
          descriptions_(std::move(descriptions)), options_(std::move(options)),
          communicator_(options_.communicator ? options_.communicator : std::make_shared<distributed::SingleProcess>()),
          sampler_(GroupSampler(train_.items_of_class(descriptions_.classes()), descriptions_.counts,
                                with_seeds(options_.sampler, bool(train_.load_augmented)), train_.pair_keys),
                   communicator_->rank(), communicator_->size()),
          optimizer_(options_.decay_all_parameters
                         ? optim::single_group(model.named_parameters(), options_.weight_decay)
                         : optim::decay_groups(model.named_parameters(), options_.weight_decay),
                     optim::AdamWOptions{options_.schedule(0), options_.beta1, options_.beta2, options_.eps}),
          gradient_averager_(trainable_parameters()), log_(options_.output_dir, options_.log_every) {
        if (options_.precision == Precision::float16) loss_scaler_.emplace(options_.loss_scaler);
        if (options_.accumulation_steps < 1)
            fail("Trainer: accumulation_steps must be >= 1, got ", options_.accumulation_steps);
        if (validation_.labels.empty()) fail("Trainer: the validation set is empty; give it images of every class");
        std::int64_t trainable = 0;
        for (const auto& group : optimizer_.groups()) trainable += std::int64_t(group.parameters.size());
        if (trainable == 0) fail("Trainer: no parameter is trainable (freeze policy 'none'?); nothing to fine-tune");
        positive_class_ = options_.positive_class < 0 ? descriptions_.classes() - 1 : options_.positive_class;
        if (positive_class_ >= descriptions_.classes())
            fail("Trainer: positive class ", positive_class_, " does not exist (", descriptions_.classes(),
                 " classes)");
        early_stopping_ = options_.early_stopping;
        if (!communicator_->is_root()) options_.progress = false; // one progress bar and log for the run
        std::filesystem::create_directories(options_.output_dir);
        if (communicator_->is_root())
            io::remove_abandoned_temporary_files(options_.output_dir); // what a killed run was writing
    }

    std::filesystem::path checkpoint_path() const { return options_.output_dir / "checkpoint.safetensors"; }
    std::filesystem::path best_path() const { return options_.output_dir / "best.safetensors"; }
    std::int64_t step() const { return step_; }
    const optim::AdamW<float>& optimizer() const { return optimizer_; }
    const std::vector<io::Json>& history() const { return log_.records(); }

    std::int64_t batches_per_epoch() const {
        return options_.batches_per_epoch > 0
                   ? options_.batches_per_epoch
                   : std::max<std::int64_t>(1, sampler_.batches_per_epoch() / options_.accumulation_steps);
    }

    // Continues the run saved in `checkpoint` (a checkpoint.safetensors of this trainer).
    void resume(const std::filesystem::path& checkpoint) {
        drop_look_ahead();
        io::SafetensorsFile file = io::load_safetensors(checkpoint);
        if (!file.metadata().contains("trainer"))
            fail(checkpoint.string(),
                 ": not a training checkpoint (no 'trainer' metadata); pass the checkpoint.safetensors of a run");
        io::Json state = io::parse_json(file.metadata().at("trainer"), checkpoint.string() + " (metadata 'trainer')");
        try {
            restore(checkpoint, file, state);
        } catch (const io::Json::exception& error) { // a missing key or a value of the wrong type
            fail(checkpoint.string(), ": the trainer state (metadata 'trainer') is malformed: ", error.what());
        }
    }

    // Trains until max_epochs, max_steps or early stopping; then the model holds the best weights
    // (when a validation ran: always, unless the run was interrupted first or made no update).
    TrainingSummary run() {
        TrainingSummary summary;
        run_started_ = std::chrono::steady_clock::now();
        distributed::broadcast_parameters(*communicator_, model_.parameters());
        const std::int64_t per_epoch = batches_per_epoch();
        const double images_per_step =
            double(options_.sampler.groups_per_batch * options_.sampler.k * options_.accumulation_steps);
        bool stop = early_stopping_.should_stop();
        while (!stop && epoch_ < options_.max_epochs && !out_of_steps()) {
            ProgressBar bar("epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(options_.max_epochs),
                            per_epoch, "img", options_.progress, batch_in_epoch_);
            while (batch_in_epoch_ < per_epoch && !out_of_steps() && !stop_agreed_) {
                double loss = train_step();
                ++batch_in_epoch_;
                epoch_loss_sum_ += loss;
                window_loss_sum_ += loss;
                ++window_steps_;
                if (window_steps_ == options_.log_every) log_window();
                std::ostringstream status;
                status << "loss " << std::setprecision(4) << epoch_loss_sum_ / double(batch_in_epoch_) << "  lr "
                       << std::setprecision(3) << optimizer_.learning_rate();
                bar.update(batch_in_epoch_, status.str(), images_per_step);
                if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 &&
                    batch_in_epoch_ < per_epoch)
                    save_checkpoint();
            }
            if (batch_in_epoch_ < per_epoch || stop_agreed_) { // out of steps or interrupted: validate on resume
                save_checkpoint();
                // A run out of steps before its first validation still ends with best weights: its
                // current ones. The training state stays as checkpointed, so that a resumed run goes
                // on as an uninterrupted one would (its first validation then replaces the file).
                if (!stop_agreed_ && early_stopping_.best_epoch < 0 && batch_in_epoch_ > 0 && communicator_->is_root())
                    models::save_clip(model_, best_path(), models::CheckpointLayout::openai);
                break;
            }
            bar.finish();
            stop = end_epoch(per_epoch);
        }
        summary.stopped_early = stop;
        summary.interrupted_by =
            stop_agreed_ && !stop_requested() ? SIGINT : stop_requested(); // a rank told by another
        summary.steps = step_;
        summary.epochs = epoch_;
        summary.best_epoch = early_stopping_.best_epoch;
        summary.best_validation_loss = early_stopping_.best_loss;
        summary.best_validation_auc = log_.validation_auc(early_stopping_.best_epoch + 1);
        drop_look_ahead();
        if (early_stopping_.best_epoch >= 0) restore_best();
        return summary;
    }

    // The mean group contrastive loss over the validation groups (the same groups every epoch).
    double validation_loss() {
        NoGradGuard no_grad;
        GroupSamplerOptions fixed = options_.sampler;
        fixed.seed = options_.sampler.seed + 1; // a stream of its own, reset at every validation
        DistributedGroupSampler sampler(GroupSampler(validation_.items_of_class(descriptions_.classes()),
                                                     descriptions_.counts, fixed, validation_.pair_keys),
                                        communicator_->rank(), communicator_->size());
        std::int64_t batches =
            options_.validation_batches > 0 ? options_.validation_batches : sampler.batches_per_epoch();
        const double share = double(sampler.shard().size()) / double(sampler.global_groups());
        double sum = 0;
        AutocastGuard autocast(options_.precision);
        const Device device = model_.device();
        for (std::int64_t b = 0; b < batches; ++b)
            sum += share *
                   group_loss(model_, make_group_batch(sampler.next(), validation_, descriptions_).to(device)).item();
        communicator_->all_reduce_sum(std::span<double>(&sum, 1));
        return sum / double(batches);
    }

    // Probability of each class for every validation image [n, C]; each rank scores a contiguous
    // share of the images, and the sum of the zero-padded shares is every probability, exactly.
    Tensor<float> validation_probabilities() {
        const std::int64_t images = std::int64_t(validation_.labels.size()), classes = descriptions_.classes();
        const Shard shard = shard_of(images, communicator_->rank(), communicator_->size());
        ImageSet mine = validation_;
        mine.labels.assign(validation_.labels.begin() + shard.begin, validation_.labels.begin() + shard.end);
        mine.load = [&](std::vector<std::int64_t> items) {
            for (std::int64_t& item : items) item += shard.begin;
            return validation_.load(items);
        };
        AutocastGuard autocast(options_.precision);
        Tensor<float> probabilities = eval::class_probabilities(
            eval::encode_images(model_, mine), eval::encode_descriptions(model_, descriptions_), descriptions_.counts,
            model_.logit_scale.item(), options_.scoring);
        if (communicator_->size() == 1) return probabilities;
        std::vector<float> all(std::size_t(images * classes), 0.0f);
        std::copy_n(probabilities.contiguous().data(), probabilities.numel(), all.begin() + shard.begin * classes);
        communicator_->all_reduce_sum(std::span<float>(all));
        return Tensor<float>::from_vector(all, {images, classes});
    }

private:
    // resume() after the checkpoint was found and its state parsed.
    // Everything is read and checked before anything changes: a checkpoint that fails leaves the
    // weights, the optimizer, the sampler and the counters as they were.
    void restore(const std::filesystem::path& checkpoint, const io::SafetensorsFile& file, const io::Json& state) {
        const std::string where = checkpoint.string() + ": the trainer state (metadata 'trainer'): ";
        NoGradGuard no_grad;
        std::vector<std::pair<Tensor<float>, Tensor<float>>> weights; // (parameter, saved)
        for (auto& [name, parameter] : model_.named_parameters()) {
            if (!file.contains("model." + name))
                fail(checkpoint.string(), ": no tensor 'model.", name,
                     "'; was the checkpoint written for another model?");
            Tensor<float> saved = file.get<float>("model." + name);
            if (saved.shape() != parameter.shape())
                fail(checkpoint.string(), ": tensor 'model.", name, "' has shape ", saved.shape(), ", the model ",
                     parameter.shape());
            weights.emplace_back(parameter, saved);
        }
        TrainerState saved_state = TrainerState::from_json(state, where);
        std::map<std::string, optim::AdamW<float>::Moments> moments;
        for (const auto& [name, steps] : saved_state.optimizer_steps)
            moments[name] = {file.get<float>("exp_avg." + name).clone(), file.get<float>("exp_avg_sq." + name).clone(),
                             steps};
        std::vector<std::pair<Generator*, Generator>> generators; // (the model's stream, its saved state)
        for (const auto& [name, generator] : model_.named_generators()) {
            auto found = saved_state.generators.find(name);
            if (found == saved_state.generators.end())
                fail(where, "no state of the random stream '", name,
                     "'; was the checkpoint written with other settings (--lora-dropout)?");
            Generator saved;
            try {
                saved.set_state(found->second);
            } catch (const Error& error) {
                fail(where, "random stream '", name, "': ", error.what());
            }
            generators.emplace_back(generator, saved);
        }
        optim::AdamW<float> optimizer = optimizer_;
        DistributedGroupSampler sampler = sampler_;
        EarlyStopping early_stopping = early_stopping_;
        std::optional<optim::DynamicLossScaler> loss_scaler = loss_scaler_;
        TrainingLog training_log = log_;
        training_log.replace_records(std::move(saved_state.history), where);
        try {
            optimizer.load_state(std::move(moments));
            sampler.load_state(saved_state.sampler);
            early_stopping.load_state(saved_state.early_stopping);
            if (loss_scaler && !saved_state.loss_scaler.is_null()) loss_scaler->load_state(saved_state.loss_scaler);
        } catch (const Error& error) {
            fail(where, error.what());
        }

        for (auto& [parameter, saved] : weights) parameter.copy_(saved);
        for (auto& [generator, saved] : generators) *generator = saved;
        optimizer_ = std::move(optimizer);
        sampler_ = std::move(sampler);
        early_stopping_ = std::move(early_stopping);
        loss_scaler_ = std::move(loss_scaler);
        step_ = saved_state.step;
        epoch_ = saved_state.epoch;
        batch_in_epoch_ = saved_state.batch_in_epoch;
        window_steps_ = saved_state.window_steps;
        epoch_loss_sum_ = saved_state.epoch_loss_sum;
        window_loss_sum_ = saved_state.window_loss_sum;
        seconds_ = saved_state.seconds;
        log_ = std::move(training_log);
    }

    bool out_of_steps() const { return options_.max_steps >= 0 && step_ >= options_.max_steps; }

    static GroupSamplerOptions with_seeds(GroupSamplerOptions options, bool draw_seeds) {
        options.draw_seeds = draw_seeds;
        return options;
    }

    // The batch to train on now, moved to the model's device here, on the training thread. sampler_
    // draws every batch as it is trained on, so a checkpoint records exactly the batches consumed;
    // with prefetching, look_ahead_ (copied from it once) stays one draw ahead and picks the batch
    // loaded in the background, the one sampler_ draws next. A resumed run thus draws the same
    // batches whether or not it prefetches.
    GroupBatch<float> next_training_batch() {
        SampledBatch sampled = sampler_.next();
        GroupBatch<float> batch =
            next_batch_.pending() ? next_batch_.take() : make_group_batch(sampled, train_, descriptions_);
        if (options_.prefetch) {
            if (!look_ahead_) look_ahead_ = sampler_;
            next_batch_.start(
                [this, following = look_ahead_->next()] { return make_group_batch(following, train_, descriptions_); });
        }
        return batch.to(model_.device());
    }

    void drop_look_ahead() {
        next_batch_.cancel();
        look_ahead_.reset();
    }

    std::vector<Tensor<float>> trainable_parameters() const {
        std::vector<Tensor<float>> parameters;
        for (const auto& group : optimizer_.groups())
            for (const auto& [name, parameter] : group.parameters) parameters.push_back(parameter);
        return parameters;
    }

    // One optimizer update over accumulation_steps global batches; returns their mean loss. A rank's
    // loss is the mean over its own groups: weighted by its share of the global batch (times the rank
    // count, which the average divides out), the ranks' mean gradient is the gradient of the global
    // batch's mean loss, equal shards or not. Under float16 the loss scaler multiplies its scale
    // into that weight, divides it out of the averaged gradients, and skips a step that overflowed.
    double train_step() {
        const double share = double(sampler_.shard().size()) / double(sampler_.global_groups());
        const double scale = share * double(communicator_->size()) / double(options_.accumulation_steps) *
                             (loss_scaler_ ? loss_scaler_->scale() : 1.0);
        // A plain step updates each parameter as backward() completes its gradient (less memory);
        // accumulation, an extra loss, ranks, loss scaling and clipping need the whole gradient first.
        const bool update_during_backward = options_.accumulation_steps == 1 && !options_.extra_loss &&
                                            communicator_->size() == 1 && !loss_scaler_ &&
                                            !(options_.max_gradient_norm > 0);
        optimizer_.set_learning_rate(options_.schedule(step_));
        double sum = 0;
        for (std::int64_t micro = 0; micro < options_.accumulation_steps; ++micro) {
            AutocastGuard autocast(options_.precision);
            Tensor<float> loss = group_loss(model_, next_training_batch());
            sum += loss.item();
            if (scale != 1) loss = loss * float(scale);
            if (update_during_backward)
                optimizer_.backward_and_step(loss);
            else
                loss.backward();
        }
        double extra = 0;
        if (options_.extra_loss) { // the same on every rank: its gradient survives the ranks' average unscaled
            Tensor<float> term = options_.extra_loss();
            extra = term.item();
            if (term.requires_grad()) (loss_scaler_ ? term * float(loss_scaler_->scale()) : term).backward();
        }
        gradient_averager_.average(*communicator_);
        const bool finite = !loss_scaler_ || loss_scaler_->unscale(trainable_parameters());
        // The global loss, and whether any rank was asked to stop: Ctrl-C reaches the ranks at
        // different moments, and they must all stop after the same update.
        std::array<double, 2> shared = {share * sum / double(options_.accumulation_steps) + share * extra,
                                        double(stop_requested() != 0)};
        communicator_->all_reduce_sum(std::span<double>(shared));
        stop_agreed_ = shared[1] > 0;
        if (finite && options_.max_gradient_norm > 0)
            optim::clip_gradient_norm(trainable_parameters(), options_.max_gradient_norm);
        if (finite && !update_during_backward) optimizer_.step();
        if (loss_scaler_) loss_scaler_->update(finite);
        optimizer_.zero_grad();
        ++step_;
        return shared[0];
    }

    void log_window() {
        log_.add_training(step_, epoch_ + 1, window_loss_sum_ / double(window_steps_), optimizer_.learning_rate());
        window_loss_sum_ = 0;
        window_steps_ = 0;
    }

    // Training time of the whole run, resumed parts included.
    double seconds() const {
        return seconds_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started_).count();
    }

    // Validation, early stopping, best weights, checkpoint; returns whether to stop.
    bool end_epoch(std::int64_t per_epoch) {
        double loss = validation_loss();
        auto [auc, accuracy] = validation_scores();
        bool best = decide_early_stopping(loss);
        if (best && communicator_->is_root()) models::save_clip(model_, best_path(), models::CheckpointLayout::openai);
        log_.add_validation({.step = step_,
                             .epoch = epoch_ + 1,
                             .train_loss = epoch_loss_sum_ / double(per_epoch),
                             .loss = loss,
                             .auc = auc,
                             .accuracy = accuracy,
                             .learning_rate = optimizer_.learning_rate(),
                             .seconds = seconds(),
                             .best = best});
        if (options_.progress) {
            char accuracy_text[32] = "";
            if (!std::isnan(accuracy)) std::snprintf(accuracy_text, sizeof accuracy_text, ", accuracy %.4f", accuracy);
            std::fprintf(stderr, "epoch %lld: train loss %.4f, validation loss %.4f, %s %.4f%s%s\n",
                         (long long)(epoch_ + 1), epoch_loss_sum_ / double(per_epoch), loss,
                         std::isnan(accuracy) ? "AUC" : "macro AUC", auc, accuracy_text, best ? " (best so far)" : "");
        }
        ++epoch_;
        batch_in_epoch_ = 0;
        epoch_loss_sum_ = 0;
        save_checkpoint();
        return early_stopping_.should_stop();
    }

    // Two classes: the ROC-AUC of the positive class's probability, no accuracy. More: the macro
    // one-vs-rest AUC and the argmax accuracy (eval/multiclass.hpp). NaN where the validation set
    // lacks a class.
    std::pair<double, double> validation_scores() {
        const std::int64_t classes = descriptions_.classes();
        if (classes > 2) {
            std::vector<std::int64_t> counts(std::size_t(classes), 0);
            for (std::int64_t label : validation_.labels) ++counts[std::size_t(label)];
            if (std::count(counts.begin(), counts.end(), 0) > 0) return {NAN, NAN};
            std::vector<std::string> names;
            for (std::int64_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
            eval::MulticlassMetrics metrics =
                eval::multiclass_metrics(validation_.labels, validation_probabilities(), names);
            return {metrics.macro_auc, metrics.accuracy};
        }
        std::vector<int> labels = eval::binary_labels(validation_.labels, positive_class_);
        std::int64_t positives = std::count(labels.begin(), labels.end(), 1);
        if (positives == 0 || positives == std::int64_t(labels.size())) return {NAN, NAN};
        return {eval::roc_auc(labels, eval::class_scores(validation_probabilities(), positive_class_)), NAN};
    }

    // Records the epoch's validation loss; returns whether it is the best so far. Decided once, on
    // rank 0, and broadcast with the state it leaves, so that every rank stops after the same epoch
    // however the ranks' reduced losses differ in their last bit.
    bool decide_early_stopping(double loss) {
        bool best = communicator_->is_root() && early_stopping_.record(epoch_, loss);
        if (communicator_->size() == 1) return best;
        io::Json decision = {{"best", best}, {"state", early_stopping_.state()}};
        decision =
            io::parse_json(communicator_->broadcast_text(decision.dump(), 0), "rank 0's early-stopping decision");
        early_stopping_.load_state(decision.at("state"));
        return decision.at("best").get<bool>();
    }

    // Rank 0 reads the best weights it wrote and sends them to the others, which need not see its files.
    void restore_best() {
        NoGradGuard no_grad;
        if (communicator_->is_root()) {
            models::CheckpointReader reader(io::load_safetensors(best_path()));
            models::load_parameters(model_, "", reader, true);
        }
        distributed::broadcast_parameters(*communicator_, model_.parameters());
    }

    void save_checkpoint() {
        if (!communicator_->is_root()) return;
        io::NamedTensors tensors;
        for (const auto& [name, parameter] : model_.named_parameters())
            tensors.emplace_back("model." + name, parameter);
        TrainerState state{.step = step_,
                           .epoch = epoch_,
                           .batch_in_epoch = batch_in_epoch_,
                           .window_steps = window_steps_,
                           .epoch_loss_sum = epoch_loss_sum_,
                           .window_loss_sum = window_loss_sum_,
                           .seconds = seconds(),
                           .sampler = sampler_.state(),
                           .early_stopping = early_stopping_.state(),
                           .loss_scaler = loss_scaler_ ? loss_scaler_->state() : io::Json(),
                           .optimizer_steps = {},
                           .generators = {},
                           .history = log_.records()};
        for (const auto& [name, generator] : model_.named_generators()) state.generators[name] = generator->state();
        for (const auto& [name, moments] : optimizer_.state()) {
            tensors.emplace_back("exp_avg." + name, moments.exp_avg);
            tensors.emplace_back("exp_avg_sq." + name, moments.exp_avg_sq);
            state.optimizer_steps[name] = moments.step;
        }
        io::save_safetensors(checkpoint_path(), tensors,
                             {{"format", "pt"},
                              {"config", models::openai_config_string(model_.config)},
                              {"trainer", state.to_json().dump()}});
        log_.write(batches_per_epoch());
    }

    models::CLIP<float>& model_;
    ImageSet train_, validation_;
    text::TokenizedDescriptions descriptions_;
    TrainerOptions options_;
    std::shared_ptr<distributed::Communicator> communicator_;
    DistributedGroupSampler sampler_;
    optim::AdamW<float> optimizer_;
    distributed::GradientAverager<float> gradient_averager_;
    std::optional<optim::DynamicLossScaler> loss_scaler_; // float16 only
    EarlyStopping early_stopping_;
    std::int64_t positive_class_ = 1;
    std::int64_t step_ = 0, epoch_ = 0, batch_in_epoch_ = 0, window_steps_ = 0;
    double epoch_loss_sum_ = 0, window_loss_sum_ = 0, seconds_ = 0;
    TrainingLog log_; // metrics.jsonl, metrics.csv and the plots
    std::chrono::steady_clock::time_point run_started_ = std::chrono::steady_clock::now();
    bool stop_agreed_ = false;                          // some rank was asked to stop (train_step)
    std::optional<DistributedGroupSampler> look_ahead_; // with prefetching: sampler_ one draw ahead
    data::Prefetcher<GroupBatch<float>> next_batch_;    // last: its job reads the members above
};

} // namespace clipft::train
