#pragma once
// What a fine-tuner needs, and no more: tensors and ops, the CLIP model and its checkpoints, the
// tokenizer and description sets, datasets and in-memory image sets, the group sampler, batches and
// loss, AdamW and its schedules, the Trainer, and scoring with binary and multi-class metrics.
// <clipft/clip.hpp> adds the rest (synthetic faces and self-blending, image saving, batch files,
// ROC plots, printing) and brings the ops (clipft::ops::sum, ...) into namespace clipft. See
// README "Compile time" for a precompiled-header recipe.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/data/image_set.hpp>
#include <clipft/eval/evaluate.hpp>
#include <clipft/eval/metrics.hpp>
#include <clipft/eval/multiclass.hpp>
#include <clipft/eval/scoring.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/loss/contrastive.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/ops.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/optim/gradient_clipping.hpp>
#include <clipft/optim/schedule.hpp>
#include <clipft/random.hpp>
#include <clipft/tensor.hpp>
#include <clipft/text/description_set.hpp>
#include <clipft/text/tokenized_descriptions.hpp>
#include <clipft/text/tokenizer.hpp>
#include <clipft/train/freeze.hpp>
#include <clipft/train/group_batch.hpp>
#include <clipft/train/sampler.hpp>
#include <clipft/train/trainer.hpp>
