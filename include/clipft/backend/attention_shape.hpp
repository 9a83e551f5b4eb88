#pragma once
// The extents of one scaled dot-product attention call, shared by the CPU and CUDA kernels:
// query [batch, heads, query_length, head_dim], key [batch, heads, key_length, head_dim],
// value [batch, heads, key_length, value_dim].
#include <clipft/backends.hpp>

#include <cstdint>

namespace clipft::inline CLIPFT_BACKENDS::backend {

struct AttentionShape {
    std::int64_t batch, heads, query_length, key_length, head_dim, value_dim;
};

} // namespace clipft::backend
