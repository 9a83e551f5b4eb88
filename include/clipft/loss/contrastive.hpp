#pragma once
// Contrastive losses between image and text embeddings.
//
// group_contrastive_loss is the collision-free loss of the thesis (section 6.2): a batch is made of
// groups of k images of k distinct classes, each compared only with the k descriptions of its own
// group's classes, so no "negative" pair can share a class. Per group g, with I_g and T_g the
// normalised image and text embeddings in the same class order:
//     logits_g = exp(t) * I_g @ T_g^T
//     loss_g   = (CE(logits_g, [0..k-1]) + CE(logits_g^T, [0..k-1])) / 2
// and the loss is the mean over groups. clip_loss is the plain CLIP loss: one group holding the
// whole batch.
#include <clipft/backends.hpp>
#include <clipft/ops.hpp>

namespace clipft::inline CLIPFT_BACKENDS::loss {

// image_embeds and text_embeds [G, k, D] (not normalised; row j of group g pairs image j with the
// description of its class); logit_scale is the scalar log of the inverse temperature.
template <Floating T>
Tensor<T> group_contrastive_loss(const Tensor<T>& image_embeds, const Tensor<T>& text_embeds,
                                 const Tensor<T>& logit_scale) {
    if (image_embeds.dim() != 3 || text_embeds.shape() != image_embeds.shape())
        fail("group_contrastive_loss: image and text embeddings must both have shape [groups, k, dim], got ",
             image_embeds.shape(), " and ", text_embeds.shape());
    if (logit_scale.numel() != 1)
        fail("group_contrastive_loss: logit_scale must hold one value, got shape ", logit_scale.shape());
    std::int64_t groups = image_embeds.size(0), k = image_embeds.size(1);
    if (groups == 0 || k < 2)
        fail("group_contrastive_loss: need at least one group of at least 2 classes, got shape ", image_embeds.shape());

    Tensor<T> logits = ops::matmul(ops::l2_normalize(image_embeds), ops::l2_normalize(text_embeds).transpose(1, 2)) *
                       ops::exp(logit_scale.reshape({}));                      // [G, k, k]
    Tensor<std::int64_t> diagonal = Tensor<std::int64_t>::empty({groups * k}); // target of row j is j
    for (std::int64_t row = 0; row < groups * k; ++row) diagonal.data()[row] = row % k;
    diagonal = diagonal.to(image_embeds.device());
    // Every group has k rows, so the mean over all G*k rows is the mean over groups of each group's mean.
    Tensor<T> image_to_text = ops::cross_entropy(logits.reshape({groups * k, k}), diagonal);
    Tensor<T> text_to_image = ops::cross_entropy(logits.transpose(1, 2).reshape({groups * k, k}), diagonal);
    return (image_to_text + text_to_image) * T(0.5);
}

// The CLIP loss over N image-text pairs [N, D]: pair i is the positive of row i and every other
// row is a negative.
template <Floating T>
Tensor<T> clip_loss(const Tensor<T>& image_embeds, const Tensor<T>& text_embeds, const Tensor<T>& logit_scale) {
    if (image_embeds.dim() != 2) fail("clip_loss: embeddings must have shape [N, dim], got ", image_embeds.shape());
    return group_contrastive_loss(image_embeds.unsqueeze(0), text_embeds.unsqueeze(0), logit_scale);
}

} // namespace clipft::loss
