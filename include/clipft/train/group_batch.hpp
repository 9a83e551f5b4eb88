#pragma once
// A batch of class groups as the group contrastive loss consumes it, and that loss computed by a
// CLIP model. The text tower runs once per distinct description of the batch (two rows for the
// binary case), however many groups use it.
#include <clipft/backends.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/loss/contrastive.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/train/sampler.hpp>

#include <map>

namespace clipft::inline CLIPFT_BACKENDS::train {

template <Floating T> struct GroupBatch {
    Tensor<T> pixels;                         // [G, k, 3, R, R]; image j of group g
    Tensor<std::int64_t> class_ids;           // [G, k]: the class of image j of group g
    Tensor<std::int64_t> token_ids;           // [U, L]: each description the batch uses, once
    Tensor<std::int64_t> description_of_slot; // [G, k]: the row of token_ids paired with image j of group g

    std::int64_t groups() const { return class_ids.size(0); }
    std::int64_t k() const { return class_ids.size(1); }

    // The same batch with every tensor on `device` (a model moved there needs its inputs there).
    GroupBatch to(Device device) const {
        return {pixels.to(device), class_ids.to(device), token_ids.to(device), description_of_slot.to(device)};
    }
};

// Builds a batch from a table of tokenized descriptions [N, L] and, per slot, the row of the table
// it uses [G, k]; only the rows in use are kept.
template <Floating T>
GroupBatch<T> make_group_batch(const Tensor<T>& pixels, const Tensor<std::int64_t>& class_ids,
                               const Tensor<std::int64_t>& description_table,
                               const Tensor<std::int64_t>& table_row_of_slot) {
    if (class_ids.dim() != 2 || table_row_of_slot.shape() != class_ids.shape())
        fail("make_group_batch: class ids ", class_ids.shape(), " and description rows ", table_row_of_slot.shape(),
             " must both have shape [groups, k]");
    if (pixels.dim() != 5 || pixels.size(0) != class_ids.size(0) || pixels.size(1) != class_ids.size(1))
        fail("make_group_batch: pixels of shape ", pixels.shape(), " do not match class ids of shape ",
             class_ids.shape(), "; pass [groups, k, 3, R, R]");
    if (description_table.dim() != 2)
        fail("make_group_batch: the description table must be token ids [N, L], got shape ", description_table.shape());
    Tensor<std::int64_t> rows = table_row_of_slot.contiguous();
    std::map<std::int64_t, std::int64_t> compact; // table row -> row of the batch's token_ids
    for (std::int64_t i = 0; i < rows.numel(); ++i) {
        std::int64_t row = rows.data()[i];
        if (row < 0 || row >= description_table.size(0))
            fail("make_group_batch: slot ", i, " uses description row ", row, ", outside the table of ",
                 description_table.size(0), " descriptions");
        compact.emplace(row, 0);
    }
    std::vector<std::int64_t> used;
    for (auto& [row, position] : compact) {
        position = std::int64_t(used.size());
        used.push_back(row);
    }
    Tensor<std::int64_t> slots = Tensor<std::int64_t>::empty(rows.shape());
    for (std::int64_t i = 0; i < rows.numel(); ++i) slots.data()[i] = compact.at(rows.data()[i]);
    Tensor<std::int64_t> table = description_table.contiguous();
    std::int64_t length = table.size(1);
    Tensor<std::int64_t> token_ids = Tensor<std::int64_t>::empty({std::int64_t(used.size()), length});
    for (std::size_t u = 0; u < used.size(); ++u)
        std::copy_n(table.data() + used[u] * length, length, token_ids.data() + std::int64_t(u) * length);
    return {pixels, class_ids.contiguous(), token_ids, slots};
}

// The batch a GroupSampler drew: its images loaded from `images` (augmented when the sampler drew
// seeds, see GroupSamplerOptions::draw_seeds) and each slot's description looked up in
// `descriptions`. The Trainer builds every batch it trains and validates on with this.
inline GroupBatch<float> make_group_batch(const SampledBatch& sampled, const data::ImageSet& images,
                                          const text::TokenizedDescriptions& descriptions) {
    const std::size_t slots = std::size_t(sampled.groups * sampled.k);
    if (sampled.groups < 1 || sampled.k < 1 || sampled.classes.size() != slots || sampled.items.size() != slots ||
        sampled.descriptions.size() != slots || (!sampled.seeds.empty() && sampled.seeds.size() != slots))
        fail("make_group_batch: the sampled batch of ", sampled.groups, " groups of ", sampled.k, " needs ", slots,
             " classes, items and descriptions (and seeds, when drawn); got ", sampled.classes.size(), ", ",
             sampled.items.size(), ", ", sampled.descriptions.size(), " and ", sampled.seeds.size());
    if (!sampled.seeds.empty() && !images.load_augmented)
        fail("make_group_batch: the sampler drew augmentation seeds but the image set has no load_augmented");
    Tensor<float> pixels =
        sampled.seeds.empty() ? images.load(sampled.items) : images.load_augmented(sampled.items, sampled.seeds);
    if (pixels.dim() != 4 || pixels.size(0) != std::int64_t(slots))
        fail("make_group_batch: the image set loaded pixels of shape ", pixels.shape(), " for ", slots,
             " items; load must return [items, 3, R, R]");
    Tensor<std::int64_t> class_ids = Tensor<std::int64_t>::from_vector(sampled.classes, {sampled.groups, sampled.k});
    Tensor<std::int64_t> rows = Tensor<std::int64_t>::empty({sampled.groups, sampled.k});
    for (std::size_t i = 0; i < slots; ++i)
        rows.data()[i] = descriptions.row(sampled.classes[i], sampled.descriptions[i]);
    return make_group_batch(pixels.reshape({sampled.groups, sampled.k, pixels.size(1), pixels.size(2), pixels.size(3)}),
                            class_ids, descriptions.token_ids, rows);
}

// The group contrastive loss of `model` on `batch`.
template <Floating T> Tensor<T> group_loss(const models::CLIP<T>& model, const GroupBatch<T>& batch) {
    std::int64_t groups = batch.groups(), k = batch.k();
    const Shape& pixels = batch.pixels.shape();
    Tensor<T> images = model.encode_image(batch.pixels.reshape({groups * k, pixels[2], pixels[3], pixels[4]}))
                           .reshape({groups, k, -1});
    Tensor<T> texts =
        ops::index_select(model.encode_text(batch.token_ids), 0, batch.description_of_slot.reshape({groups * k}))
            .reshape({groups, k, -1});
    return loss::group_contrastive_loss(images, texts, model.logit_scale);
}

} // namespace clipft::train
