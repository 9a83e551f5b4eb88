// Model checkpoints and training checkpoints. The first byte chooses: even, the rest is a
// .safetensors CLIP checkpoint loaded as a model (config from its metadata, else inferred from its
// shapes; OpenAI or HuggingFace names); odd, the rest is a trainer's checkpoint.safetensors that a
// trainer of a tiny model resumes from.
#include "fuzz_input.hpp"
#include "tiny_trainer.hpp"

#include <clipft/models/checkpoint.hpp>

using namespace clipft;

namespace {

void resume(const std::filesystem::path& checkpoint) {
    static models::CLIP<float> model(testing::tiny_config());
    train::Trainer trainer = fuzz::tiny_trainer(model, fuzz::scratch_folder() / "run");
    trainer.resume(checkpoint);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::filesystem::path path = fuzz::write_scratch("checkpoint.safetensors", {data + 1, size - 1});
    fuzz::refused_or_accepted([&] {
        if (data[0] % 2 == 0)
            (void)models::load_clip<float>(path);
        else
            resume(path);
    });
    return 0;
}
