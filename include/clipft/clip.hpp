#pragma once
// The public API of clipft: include this one header.
#include <clipft/backend/threads.hpp>
#include <clipft/image/preprocess.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/ops.hpp>
#include <clipft/print.hpp>
#include <clipft/random.hpp>
#include <clipft/tensor.hpp>
#include <clipft/text/tokenizer.hpp>

namespace clipft {
using namespace ops;
using backend::num_threads;
using backend::set_num_threads;
} // namespace clipft
