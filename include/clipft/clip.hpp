#pragma once
// The public API of clipft: include this one header.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/data/synthetic_faces.hpp>
#include <clipft/eval/evaluate.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/eval/roc_plot.hpp>
#include <clipft/eval/scoring.hpp>
#include <clipft/faces/self_blend.hpp>
#include <clipft/image/augment.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/image/save.hpp>
#include <clipft/io/csv.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/loss/contrastive.hpp>
#include <clipft/models/adapters.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/models/initialize.hpp>
#include <clipft/ops.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/optim/gradient_clipping.hpp>
#include <clipft/optim/schedule.hpp>
#include <clipft/plot/svg.hpp>
#include <clipft/print.hpp>
#include <clipft/progress.hpp>
#include <clipft/random.hpp>
#include <clipft/tensor.hpp>
#include <clipft/text/description_set.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/text/tokenizer.hpp>
#include <clipft/train/batch_file.hpp>
#include <clipft/train/freeze.hpp>
#include <clipft/train/trainer.hpp>

namespace clipft::inline CLIPFT_BACKENDS {
using namespace ops;
using backend::num_threads;
using backend::set_num_threads;
} // namespace clipft
