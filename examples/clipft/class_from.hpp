#pragma once
// --class-from label|subset of the commands that read datasets (finetune, eval, zero-shot).
#include "options.hpp"

#include <clipft/data/dataset.hpp>

namespace clipft::cli {

inline data::ClassFrom class_source(const Options& options) {
    const std::string text = options.text("class-from");
    if (text != "label" && text != "subset")
        throw UsageError(
            "--class-from must be label (class folders or the label column) or subset (each subset its own class, "
            "e.g. --classes real,FaceSwap,SelfBlended), got '" +
            text + "'");
    return data::parse_class_from(text);
}

} // namespace clipft::cli
