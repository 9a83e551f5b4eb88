#pragma once
// A face found in an image: its box, the detector's score and its landmarks. Kept apart from the
// detector so that cropping, alignment and everything downstream build without dlib.
#include <clipft/backends.hpp>
#include <clipft/faces/landmarks.hpp>

#include <cstdint>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::faces {

// A rectangle in image pixels: columns [left, left + width), rows [top, top + height). A detector
// may report a box that reaches past the image border (a face cut by the frame).
struct Box {
    std::int64_t left = 0, top = 0, width = 0, height = 0;
};

struct Face {
    Box box;
    double score = 0;             // the detector's confidence; higher is more certain
    std::vector<Point> landmarks; // the 68 points of the iBUG 300-W scheme in image pixels, or none
};

} // namespace clipft::faces
