// clipft loss: the group contrastive loss of a batch file, every gradient, and one AdamW step, as
// safetensors under the checkpoint's own names (SPEC's command table).
#include "options.hpp"
#include "device_options.hpp"

#include <clipft/clip.hpp>

namespace clipft::cli {

int loss(const Options& options) {
    const Precision precision = cpu_precision(options);
    models::Checkpoint checkpoint = models::open_checkpoint(options.text("model"));
    models::CLIP<float> model(checkpoint.config);
    models::load_parameters(model, "", checkpoint.reader, true);
    model.visual.transformer.checkpoint_activations = model.text.transformer.checkpoint_activations =
        options.flag("checkpoint-activations");
    const models::CheckpointLayout layout = checkpoint.reader.layout();

    train::GroupBatch<float> batch = train::read_group_batch<float>(io::load_safetensors(options.text("batch")));
    Tensor<float> value;
    {
        AutocastGuard autocast(precision); // forward and backward; the AdamW step below stays float
        value = train::group_loss(model, batch);
        value.backward();
    }

    io::NamedTensors results{{"loss", value.detach()}};
    for (const auto& [name, parameter] : model.named_parameters())
        models::append_in_layout(results, "grad.", name, parameter.grad(), layout);
    // One step over every parameter, weight decay included, as torch.optim.AdamW(model.parameters()).
    optim::AdamW<float> optimizer(
        optim::single_group(model.named_parameters(), options.number("weight-decay")),
        {options.number("lr"), options.number("beta1"), options.number("beta2"), options.number("eps")});
    optimizer.step();
    for (const auto& [name, parameter] : model.named_parameters())
        models::append_in_layout(results, "after.", name, parameter.detach(), layout);
    io::save_safetensors(options.text("out"), results);
    return 0;
}

} // namespace clipft::cli
