#pragma once
// Every differentiable op of clipft.
#include <clipft/ops/elementwise.hpp>
#include <clipft/ops/reduction.hpp>
