#pragma once
// Every differentiable op of clipft.
#include <clipft/ops/attention.hpp>
#include <clipft/ops/conv2d.hpp>
#include <clipft/ops/dropout.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/indexing.hpp>
#include <clipft/ops/layer_norm.hpp>
#include <clipft/ops/loss.hpp>
#include <clipft/ops/matmul.hpp>
#include <clipft/ops/normalize.hpp>
#include <clipft/ops/reduction.hpp>
#include <clipft/ops/softmax.hpp>
