#pragma once
// Walks N strided operands of one shape row by row: the last axis is the contiguous-or-not inner
// row, everything before it is the outer index. Rows are spread over the thread pool.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/shape.hpp>

#include <array>
#include <cstring>
#include <type_traits>
#include <cstdint>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// body(offsets, length, inner_strides): one row of `length` elements; offsets[k] is operand k's
// element offset of the row start and inner_strides[k] its step along the row.
template <std::size_t N, typename Body>
void for_each_row(const Shape& shape, const std::array<const Shape*, N>& strides, Body&& body) {
    std::int64_t rank = std::int64_t(shape.size());
    std::int64_t length = rank ? shape.back() : 1;
    std::int64_t count = element_count(shape);
    if (count == 0) return;
    std::int64_t rows = count / length;
    std::array<std::int64_t, N> inner{};
    for (std::size_t k = 0; k < N; ++k) inner[k] = rank ? strides[k]->back() : 0;
    std::int64_t grain = std::max<std::int64_t>(1, 32768 / length);
    parallel_for(rows, grain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) {
            std::array<std::int64_t, N> offsets{};
            std::int64_t rest = row;
            for (std::int64_t axis = rank - 2; axis >= 0; --axis) {
                std::int64_t index = rest % shape[axis];
                rest /= shape[axis];
                for (std::size_t k = 0; k < N; ++k) offsets[k] += index * (*strides[k])[axis];
            }
            body(offsets, length, inner);
        }
    });
}

// Copies src (any strides) into dst (any strides) of the same shape, converting element types.
template <typename To, typename From, typename Convert>
void strided_copy(To* dst, const Shape& dst_strides, const From* src, const Shape& src_strides, const Shape& shape,
                  Convert convert) {
    if constexpr (std::is_same_v<To, From>) {
        // Same type: the conversion is the identity, and dense data is one memcpy.
        if (dst_strides == src_strides && src_strides == contiguous_strides(shape)) {
            parallel_for(element_count(shape), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
                std::memcpy(dst + begin, src + begin, std::size_t(end - begin) * sizeof(To));
            });
            return;
        }
    }
    for_each_row<2>(
        shape, {&dst_strides, &src_strides},
        [&](const std::array<std::int64_t, 2>& offsets, std::int64_t length, const std::array<std::int64_t, 2>& step) {
            To* d = dst + offsets[0];
            const From* s = src + offsets[1];
            if (step[0] == 1 && step[1] == 1)
                for (std::int64_t i = 0; i < length; ++i) d[i] = convert(s[i]);
            else
                for (std::int64_t i = 0; i < length; ++i) d[i * step[0]] = convert(s[i * step[1]]);
        });
}

} // namespace clipft::backend::cpu
