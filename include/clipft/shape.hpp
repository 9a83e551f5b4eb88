#pragma once
// Shapes, strides and broadcasting rules (NumPy's), shared by every op.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <cstdint>
#include <ostream>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS {

using Shape = std::vector<std::int64_t>;

inline std::int64_t element_count(const Shape& shape) {
    std::int64_t count = 1;
    for (std::int64_t extent : shape) count *= extent;
    return count;
}

inline Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    std::int64_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= shape[i];
    }
    return strides;
}

// Maps a possibly negative axis (-1 = last) to [0, rank); `op` names the caller in the error.
inline std::int64_t normalize_axis(const char* op, std::int64_t axis, std::int64_t rank) {
    if (axis < -rank || axis >= rank) fail(op, ": axis ", axis, " is out of range for a tensor of rank ", rank);
    return axis < 0 ? axis + rank : axis;
}

inline void check_shape(const char* op, const Shape& shape) {
    for (std::int64_t extent : shape)
        if (extent < 0) fail(op, ": negative extent in shape ", shape);
}

inline Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    std::size_t rank = std::max(a.size(), b.size());
    Shape result(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            fail(op, ": shapes ", a, " and ", b, " cannot be broadcast together (dimension ", i, " is ", da, " vs ", db,
                 ")");
        result[i] = da == 1 ? db : da;
    }
    return result;
}

} // namespace clipft
