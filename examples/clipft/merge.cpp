// clipft merge: a base checkpoint with an adapter file folded in, as a plain CLIP checkpoint.
#include "adapted_model.hpp"

#include <iostream>

namespace clipft::cli {

int merge(const Options& options) {
    const std::filesystem::path out = options.text("out");
    if (out.extension() != ".safetensors" && std::filesystem::exists(out) && !std::filesystem::is_directory(out))
        throw UsageError("--out " + out.string() + ": give a .safetensors file or a directory");
    const models::CheckpointLayout layout =
        options.text("layout") == "openai" ? models::CheckpointLayout::openai
        : options.text("layout") == "huggingface"
            ? models::CheckpointLayout::huggingface
            : throw UsageError("--layout must be openai or huggingface, got '" + options.text("layout") + "'");
    auto model = models::load_clip<float>(options.text("model"));
    models::AdapterOptions adapters = models::apply_adapters(*model, options.text("adapter"));
    models::merge_adapters(*model);
    models::save_clip(*model, out, layout);
    io::Json result = {{"merged", out.string()},
                       {"method", models::adapter_method_name(adapters.method)},
                       {"rank", adapters.lora.rank},
                       {"targets", nn::join_target_names(adapters.targets)}};
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
