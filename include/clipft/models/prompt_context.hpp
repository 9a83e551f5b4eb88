#pragma once
// Learned prompt context (CoOp, Zhou et al., 2022): N learnable vectors [N, text width] take the
// place of the first word embeddings of every text, right after the start-of-text token; the text's
// own words follow, cut so that its end-of-text token stays within the context length. Shared by
// all classes ([N, width]) or one context per class ([classes, N, width]; a text's class is found by
// its tokens among the description set's, set_descriptions).
//
// The prompts file (safetensors) holds "prompt.context" and the metadata method ("prompt"),
// context_length (N), per_class, classes (their number) and base_model_hash.
#include <clipft/backends.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/nn/module.hpp>
#include <clipft/ops.hpp>
#include <clipft/random.hpp>
#include <clipft/text/tokenized_descriptions.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::models {

template <Floating T> struct PromptContext : nn::Module<T> {
    Tensor<T> context; // [N, width] or [classes, N, width]

    explicit PromptContext(const Tensor<T>& initial) {
        if (initial.dim() != 2 && initial.dim() != 3)
            fail("PromptContext: the context must be [N, width] or [classes, N, width], got ", initial.shape());
        context = this->register_parameter("context", initial.contiguous().clone());
    }

    // N vectors drawn from N(0, 0.02²) as CoOp does; `classes` > 0: one context per class.
    static std::shared_ptr<PromptContext> random(std::int64_t length, std::int64_t width, std::int64_t classes,
                                                 Generator& generator) {
        Tensor<T> values = Tensor<T>::empty(classes > 0 ? Shape{classes, length, width} : Shape{length, width});
        for (std::int64_t i = 0; i < values.numel(); ++i) values.data()[i] = T(0.02 * generator.normal());
        return std::make_shared<PromptContext>(values);
    }

    bool per_class() const { return context.dim() == 3; }
    std::int64_t length() const { return context.size(context.dim() - 2); }
    std::int64_t width() const { return context.size(context.dim() - 1); }

    // Per class: the texts this context encodes, each a row of `table`, whose class is its own.
    void set_descriptions(const text::TokenizedDescriptions& table) {
        if (!per_class()) return;
        if (table.classes() != context.size(0))
            fail("PromptContext: the per-class context has ", context.size(0), " classes, the description set ",
                 table.classes());
        class_of_text_.clear();
        Tensor<std::int64_t> ids = table.token_ids.to(Device::cpu()).contiguous();
        const std::int64_t length = ids.size(1);
        for (std::int64_t c = 0; c < table.classes(); ++c)
            for (std::int64_t d = 0; d < table.counts[std::size_t(c)]; ++d) {
                const std::int64_t* row = ids.data() + table.row(c, d) * length;
                class_of_text_[std::vector<std::int64_t>(row, row + length)] = c;
            }
    }

    // Token ids [B, L] (start token, words, end token, padding) with N slots (0) after the start
    // token and the words cut so that the end token stays: the ids the context is inserted into.
    Tensor<std::int64_t> make_room(const Tensor<std::int64_t>& ids, std::int64_t end_of_text) const {
        const std::int64_t rows = ids.size(0), length = ids.size(1), n = this->length();
        if (length < n + 2)
            fail("PromptContext: ", n, " context vectors leave no room in texts of ", length, " tokens");
        Tensor<std::int64_t> dense = ids.to(Device::cpu()).contiguous(),
                             result = Tensor<std::int64_t>::zeros({rows, length});
        for (std::int64_t b = 0; b < rows; ++b) {
            const std::int64_t* row = dense.data() + b * length;
            std::int64_t* out = result.data() + b * length;
            const std::int64_t end = std::find(row, row + length, end_of_text) - row;
            if (end == length)
                fail("PromptContext: row ", b, " of the token ids has no end-of-text token (", end_of_text, ")");
            const std::int64_t words = std::min(end - 1, length - 2 - n);
            out[0] = row[0];
            std::copy(row + 1, row + 1 + words, out + 1 + n);
            out[1 + n + words] = end_of_text;
        }
        return result.to(ids.device());
    }

    // Token embeddings [B, L, width] of make_room(ids) with the context in slots 1..N; `ids` are the
    // texts' own token ids (to find each text's class for a per-class context).
    Tensor<T> insert(const Tensor<T>& embeddings, const Tensor<std::int64_t>& ids) const {
        const std::int64_t rows = embeddings.size(0), length = embeddings.size(1), n = this->length();
        if (embeddings.size(2) != width())
            fail("PromptContext: context of width ", width(), " for token embeddings of shape ", embeddings.shape());
        Tensor<T> vectors = per_class() ? ops::index_select(context, 0, classes_of(ids).to(context.device()))
                                        : context.reshape({1, n, width()}).expand({rows, n, width()});
        return ops::concat<T>({embeddings.narrow(1, 0, 1), vectors, embeddings.narrow(1, 1 + n, length - 1 - n)}, 1);
    }

private:
    Tensor<std::int64_t> classes_of(const Tensor<std::int64_t>& ids) const {
        Tensor<std::int64_t> dense = ids.to(Device::cpu()).contiguous(),
                             classes = Tensor<std::int64_t>::empty({ids.size(0)});
        for (std::int64_t b = 0; b < ids.size(0); ++b) {
            const std::int64_t* row = dense.data() + b * ids.size(1);
            auto found = class_of_text_.find(std::vector<std::int64_t>(row, row + ids.size(1)));
            if (found == class_of_text_.end())
                fail("PromptContext: text ", b,
                     " is none of the descriptions of the per-class context; a per-class prompt "
                     "encodes only its description set's texts (clipft eval, finetune)");
            classes.data()[b] = found->second;
        }
        return classes;
    }

    std::map<std::vector<std::int64_t>, std::int64_t> class_of_text_;
};

// Writes a prompt context to a prompts file.
template <Floating T>
void save_prompts(const PromptContext<T>& prompt, const std::string& base_model_hash,
                  const std::filesystem::path& path) {
    io::save_safetensors(path, {{"prompt.context", prompt.context.template to<float>().to(Device::cpu())}},
                         {{"format", "pt"},
                          {"method", "prompt"},
                          {"context_length", std::to_string(prompt.length())},
                          {"per_class", prompt.per_class() ? "true" : "false"},
                          {"classes", std::to_string(prompt.per_class() ? prompt.context.size(0) : 0)},
                          {"base_model_hash", base_model_hash}});
}

// Reads a prompts file: its context and the hash of the base model it was trained with ("" when absent).
template <Floating T>
std::pair<std::shared_ptr<PromptContext<T>>, std::string> load_prompts(const std::filesystem::path& path,
                                                                       std::int64_t width) {
    io::SafetensorsFile file = io::load_safetensors(path);
    if (!file.contains("prompt.context"))
        fail(path.string(), ": not a prompts file (no tensor 'prompt.context'); pass the prompts.safetensors of clipft "
                            "finetune --method prompt");
    Tensor<float> context = file.get<float>("prompt.context");
    if ((context.dim() != 2 && context.dim() != 3) || context.size(context.dim() - 1) != width)
        fail(path.string(), ": tensor 'prompt.context' has shape ", context.shape(), "; the model's text width is ",
             width, " ([N, ", width, "] or [classes, N, ", width, "])");
    const auto& metadata = file.metadata();
    return {std::make_shared<PromptContext<T>>(context.template to<T>()),
            metadata.contains("base_model_hash") ? metadata.at("base_model_hash") : std::string()};
}

} // namespace clipft::models
