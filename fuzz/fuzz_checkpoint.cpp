// Model checkpoints and training checkpoints. The first byte chooses: even, the rest is a
// .safetensors CLIP checkpoint loaded as a model (config from its metadata, else inferred from its
// shapes; OpenAI or HuggingFace names); odd, the rest is a trainer's checkpoint.safetensors that a
// trainer of a tiny model resumes from.
#include "fuzz_input.hpp"

#include <clipft/models/checkpoint.hpp>
#include <clipft/train/trainer.hpp>

using namespace clipft;

namespace {

// The tiny model of fuzz/make_seeds.cpp, whose checkpoints seed the corpus.
models::CLIPConfig tiny_config() {
    models::CLIPConfig config;
    config.embed_dim = 4;
    config.vision = {.image_size = 4, .patch_size = 2, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text = {.context_length = 4, .vocab_size = 8, .width = 4, .layers = 1, .heads = 1, .mlp_width = 16};
    config.text.end_of_text_id = 7;
    return config;
}

void resume(const std::filesystem::path& checkpoint) {
    static models::CLIP<float> model(tiny_config());
    data::ImageSet images{{0, 1, 0, 1}, [](const std::vector<std::int64_t>& items) {
                              return Tensor<float>::zeros({std::int64_t(items.size()), 3, 4, 4});
                          }};
    text::TokenizedDescriptions descriptions{Tensor<std::int64_t>::from_vector({6, 1, 7, 0, 6, 2, 7, 0, 6, 3, 7, 0}).reshape({3, 4}),
                                             {0, 2}, {2, 1}};
    train::TrainerOptions options;
    options.sampler = {.k = 2, .groups_per_batch = 1, .seed = 1};
    options.output_dir = fuzz::scratch_folder() / "run";
    options.progress = false;
    train::Trainer trainer(model, images, images, descriptions, options);
    trainer.resume(checkpoint);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::filesystem::path path = fuzz::write_scratch("checkpoint.safetensors", {data + 1, size - 1});
    fuzz::refused_or_accepted([&] {
        if (data[0] % 2 == 0) (void)models::load_clip<float>(path);
        else resume(path);
    });
    return 0;
}
