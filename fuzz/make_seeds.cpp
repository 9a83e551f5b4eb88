// Writes the generated part of the fuzz targets' seed corpora, made with clipft itself so that the
// seeds are valid inputs the fuzzers then mutate: make_seeds OUTPUT_FOLDER writes
// OUTPUT_FOLDER/<target>/<seed>. fuzz/make_seeds.sh adds the reference files of ../shared.
#include <clipft/image/save.hpp>
#include <clipft/models/checkpoint.hpp>

#include "tiny_trainer.hpp"

#include <fstream>
#include <iostream>
#include <iterator>

using namespace clipft;
namespace fs = std::filesystem;

namespace {

fs::path output;

void write_seed(const std::string& target, const std::string& name, std::string_view prefix, std::string_view bytes) {
    fs::create_directories(output / target);
    std::ofstream out(output / target / name, std::ios::binary);
    out << prefix << bytes;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void safetensors_seeds(const fs::path& scratch) {
    Generator generator(1);
    io::NamedTensors tensors{{"f32", randn<float>({2, 3}, generator)},
                             {"f64", Tensor<double>::from_vector({1.5, -2.0})},
                             {"i64", Tensor<std::int64_t>::from_vector({1, 2, 3})},
                             {"i32", Tensor<std::int32_t>::from_vector({7})},
                             {"u8", Tensor<std::uint8_t>::from_vector({1, 2})},
                             {"f16", randn<float>({4}, generator).to<Half>()},
                             {"bf16", randn<float>({2, 2}, generator).to<BFloat16>()},
                             {"empty", Tensor<float>::zeros({0, 3})}};
    io::save_safetensors(scratch / "all.safetensors", tensors, {{"format", "pt"}, {"note", "seed"}});
    write_seed("safetensors", "all_dtypes", "", read_bytes(scratch / "all.safetensors"));
    // A batch file in the pairs layout: 2 pairs of 3x2x2 images and two descriptions of 4 ids.
    io::NamedTensors batch{
        {"pixel_values", randn<float>({2, 2, 3, 2, 2}, generator)},
        {"input_ids", Tensor<std::int64_t>::from_vector({49406, 1, 49407, 0, 49406, 2, 49407, 0}).reshape({2, 4})}};
    io::save_safetensors(scratch / "batch.safetensors", batch);
    write_seed("safetensors", "pair_batch", "", read_bytes(scratch / "batch.safetensors"));
}

void config_seeds() {
    models::CLIPConfig config = testing::tiny_config();
    write_seed("clip_config", "tiny_openai", "", models::openai_config_string(config));
    write_seed("clip_config", "tiny_huggingface", "", models::huggingface_config_json(config).dump(1));
    write_seed("clip_config", "b32_openai", "", models::openai_config_string(models::CLIPConfig::preset("ViT-B/32")));
    write_seed("clip_config", "l14_huggingface", "",
               models::huggingface_config_json(models::CLIPConfig::preset("ViT-L/14")).dump());
}

// A complete small vocabulary in HuggingFace's files: the 512 byte symbols, a few merges and the
// special tokens; the tokenizer target's odd first byte selects this format.
void tokenizer_seeds() {
    io::Json vocab = io::Json::object();
    std::int32_t next = 0;
    for (const char* suffix : {"", "</w>"})
        for (std::uint8_t byte : text::byte_symbol_order()) {
            std::string symbol;
            text::append_utf8(symbol, text::byte_to_unicode()[byte]);
            vocab[symbol + suffix] = next++;
        }
    std::string merges = "#version: 0.2\n";
    for (auto [left, right] :
         {std::pair{"t", "h"}, {"th", "e</w>"}, {"i", "m"}, {"a", "g"}, {"ag", "e</w>"}, {"o", "f</w>"}}) {
        merges += std::string(left) + " " + right + "\n";
        vocab[std::string(left) + right] = next++;
    }
    vocab["<|startoftext|>"] = next++;
    vocab["<|endoftext|>"] = next++;
    write_seed("tokenizer", "small_vocab_files", "\x01", vocab.dump() + std::string(1, '\0') + merges);
}

void image_seeds() {
    image::Image picture(5, 7, 3), transparent(3, 2, 4);
    for (std::size_t i = 0; i < picture.pixels.size(); ++i) picture.pixels[i] = std::uint8_t(i * 37);
    for (std::size_t i = 0; i < transparent.pixels.size(); ++i) transparent.pixels[i] = std::uint8_t(i * 11);
    write_seed("image", "rgb.png", "", image::encode_image(picture, image::ImageFormat::png));
    write_seed("image", "rgba.png", "", image::encode_image(transparent, image::ImageFormat::png));
    write_seed("image", "rgb.bmp", "", image::encode_image(picture, image::ImageFormat::bmp));
    write_seed("image", "rgb.jpg", "", image::encode_image(picture, image::ImageFormat::jpeg, 80));
}

void manifest_seeds() {
    write_seed("manifest", "names", "",
               "path,label,subset,video\nreal/a.jpg,real,,v1\nfake/b.png,fake,Deepfakes,v2\n"
               "fake/c.png,fake,Face2Face,v3\nreal/d.jpg,real,,v4\n");
    write_seed("manifest", "indices", "",
               "\xEF\xBB\xBFlabel,path\r\n0,\"a,b.jpg\"\r\n1,\"say \"\"hi\"\".png\"\r\n\r\n1,c.bmp\r\n");
}

void checkpoint_seeds(const fs::path& scratch) {
    models::CLIP<float> model(testing::tiny_config());
    Generator generator(2);
    {
        NoGradGuard no_grad;
        for (auto& [name, parameter] : model.named_parameters())
            Tensor<float>(parameter).copy_(randn<float>(parameter.shape(), generator, 0.0, 0.1));
    }
    models::save_clip(model, scratch / "openai.safetensors", models::CheckpointLayout::openai);
    write_seed("checkpoint", "tiny_openai", std::string(1, '\0'), read_bytes(scratch / "openai.safetensors"));
    models::save_clip(model, scratch / "huggingface.safetensors", models::CheckpointLayout::huggingface);
    write_seed("checkpoint", "tiny_huggingface", std::string(1, '\0'), read_bytes(scratch / "huggingface.safetensors"));

    // A trainer checkpoint after one update of the trainer that fuzz_checkpoint.cpp resumes.
    fuzz::tiny_trainer(model, scratch / "run").run();
    write_seed("checkpoint", "trainer", "\x01", read_bytes(scratch / "run" / "checkpoint.safetensors"));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_seeds OUTPUT_FOLDER\n";
        return 2;
    }
    output = argv[1];
    fs::path scratch = output / "scratch";
    fs::create_directories(scratch);
    try {
        safetensors_seeds(scratch);
        config_seeds();
        tokenizer_seeds();
        image_seeds();
        manifest_seeds();
        checkpoint_seeds(scratch);
    } catch (const Error& error) {
        std::cerr << "make_seeds: " << error.what() << "\n";
        return 1;
    }
    fs::remove_all(scratch);
    return 0;
}
