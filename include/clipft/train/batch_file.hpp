#pragma once
// Training batches stored as safetensors, in the two layouts of the reference fixtures
// (../shared/fixtures/*/train_step*.safetensors) and of `clipft loss`:
//   pairs:  pixel_values [n, 2, 3, R, R] + input_ids [2, L]; pair i = (class 0, class 1), row c of
//           input_ids describes class c;
//   groups: pixel_values [g, k, 3, R, R] + class_ids [g, k] + input_ids [C, L] (one description
//           per class) or [C, D, L] with desc_choice [g, k] (slot (g, j) uses description
//           desc_choice[g, j] of its class).
#include <clipft/backends.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/train/group_batch.hpp>

namespace clipft::inline CLIPFT_BACKENDS::train {

template <Floating T> GroupBatch<T> read_group_batch(const io::SafetensorsFile& file) {
    const std::string path = file.path().string();
    for (const char* name : {"pixel_values", "input_ids"})
        if (!file.contains(name))
            fail(path, ": no tensor '", name, "' (a batch file holds pixel_values and input_ids)");
    Tensor<T> pixels = file.get<T>("pixel_values");
    Tensor<std::int64_t> ids = file.get<std::int64_t>("input_ids");
    if (pixels.dim() != 5 || pixels.size(2) != 3)
        fail(path, ": tensor 'pixel_values' has shape ", pixels.shape(), "; expected [groups, k, 3, R, R]");
    std::int64_t groups = pixels.size(0), k = pixels.size(1);

    Tensor<std::int64_t> class_ids;
    if (file.contains("class_ids")) {
        class_ids = file.get<std::int64_t>("class_ids");
        if (class_ids.shape() != Shape{groups, k})
            fail(path, ": tensor 'class_ids' has shape ", class_ids.shape(), "; expected [", groups, ", ", k,
                 "] to match pixel_values");
    } else {
        if (ids.dim() != 2 || ids.size(0) != k)
            fail(path, ": a pair file without class_ids needs input_ids [", k, ", L] (one description per slot), got ",
                 ids.shape());
        class_ids = Tensor<std::int64_t>::empty({groups, k});
        for (std::int64_t i = 0; i < groups * k; ++i) class_ids.data()[i] = i % k;
    }
    std::int64_t classes = ids.size(0);
    for (std::int64_t i = 0; i < class_ids.numel(); ++i)
        if (class_ids.data()[i] < 0 || class_ids.data()[i] >= classes)
            fail(path, ": class id ", class_ids.data()[i], " at slot ", i, " has no description (input_ids has ",
                 classes, " classes)");

    // Rows of the description table [C * D, L] each slot uses: class * D + choice.
    Tensor<std::int64_t> rows = class_ids.clone();
    Tensor<std::int64_t> table = ids;
    if (ids.dim() == 3) {
        if (!file.contains("desc_choice"))
            fail(path, ": input_ids [C, D, L] needs desc_choice [groups, k] to say which description each slot uses");
        Tensor<std::int64_t> choice = file.get<std::int64_t>("desc_choice").contiguous();
        if (choice.shape() != class_ids.shape())
            fail(path, ": tensor 'desc_choice' has shape ", choice.shape(), "; expected ", class_ids.shape());
        std::int64_t per_class = ids.size(1);
        for (std::int64_t i = 0; i < rows.numel(); ++i) {
            std::int64_t d = choice.data()[i];
            if (d < 0 || d >= per_class)
                fail(path, ": desc_choice ", d, " at slot ", i, " is outside the ", per_class,
                     " descriptions per class");
            rows.data()[i] = rows.data()[i] * per_class + d;
        }
        table = ids.reshape({classes * per_class, ids.size(2)});
    } else if (ids.dim() != 2) {
        fail(path, ": tensor 'input_ids' has shape ", ids.shape(), "; expected [C, L] or [C, D, L]");
    }
    return make_group_batch(pixels, class_ids, table, rows);
}

} // namespace clipft::train
