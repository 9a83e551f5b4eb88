#pragma once
// Facial landmarks: points in image pixels (x to the right, y down), the Psychomorph/WebMorph
// ".tem" template files that come with face photographs, convex hulls, and the least-squares
// similarity transform between two sets of corresponding landmarks (alignment, face swaps).
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/csv.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::faces {

struct Point {
    double x = 0, y = 0;
    bool operator==(const Point&) const = default;
};

namespace detail {

// The whitespace-separated fields of a line.
inline std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while ((start = line.find_first_not_of(" \t\r", start)) != std::string_view::npos) {
        const std::size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
        fields.push_back(line.substr(start, end - start));
        start = end;
    }
    return fields;
}

template <typename Number> bool read_number(std::string_view text, Number& value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if constexpr (std::is_floating_point_v<Number>)
        if (!std::isfinite(value)) return false;
    return error == std::errc() && end == text.data() + text.size();
}

// Twice the signed area of the triangle (a, b, c): positive when a -> b -> c turns
// counter-clockwise in the (x, y) plane.
inline double cross(const Point& a, const Point& b, const Point& c) {
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

} // namespace detail

// The points of a .tem file's text: line 1 holds the number of points N, the next N lines
// "x<TAB>y" in pixels; the template's line definitions after them are not needed here. `name`
// (the file) is what error messages cite, with the line number.
inline std::vector<Point> parse_tem_landmarks(std::string_view text, const std::string& name) {
    std::vector<Point> points;
    std::int64_t count = -1, line_number = 0;
    std::size_t start = 0;
    while (count < 0 || std::int64_t(points.size()) < count) {
        if (start >= text.size()) {
            if (count < 0) fail(name, ": the file is empty; a .tem file starts with its number of points");
            fail(name, ":", line_number, ": the file ends after ", points.size(), " of the ", count,
                 " points that line 1 announces; the file is truncated");
        }
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        const std::vector<std::string_view> fields = detail::fields_of(line);
        if (count < 0) {
            if (fields.size() != 1 || !detail::read_number(fields[0], count) || count < 1)
                fail(name, ":1: expected the number of points (a positive integer), found '", line,
                     "'; is this a Psychomorph/WebMorph .tem file?");
            points.reserve(std::size_t(count));
            continue;
        }
        Point point;
        if (fields.size() != 2 || !detail::read_number(fields[0], point.x) || !detail::read_number(fields[1], point.y))
            fail(name, ":", line_number, ": expected point ", points.size(), " of ", count,
                 " as two numbers 'x<TAB>y', found '", line, "'");
        points.push_back(point);
    }
    return points;
}

inline std::vector<Point> read_tem_landmarks(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path.string(), ": cannot read the landmarks: ",
             std::filesystem::exists(path) ? "the file cannot be opened" : "no such file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail(path.string(), ": cannot read the landmarks: the read failed");
    return parse_tem_landmarks(text, path.string());
}

// The points of a landmarks CSV file of `clipft faces` (a header "x,y", then one point per row).
inline std::vector<Point> read_landmarks_csv(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        fail(path.string(), ": cannot read the landmarks: no such file");
    io::CsvTable table = io::read_csv(path);
    const std::size_t x = table.column("x"), y = table.column("y");
    std::vector<Point> points;
    for (const io::CsvRow& row : table.rows) {
        Point point;
        if (!detail::read_number(std::string_view(row.fields[x]), point.x) ||
            !detail::read_number(std::string_view(row.fields[y]), point.y))
            fail(table.where(row), ": expected a point x,y of two numbers, found '", row.fields[x], ",", row.fields[y],
                 "'");
        points.push_back(point);
    }
    if (points.size() < 3) fail(path.string(), ": ", points.size(), " landmarks; a face's outline needs at least 3");
    return points;
}

// The convex hull's vertices, counter-clockwise in the (x, y) plane (clockwise on screen, where y
// points down), starting at the smallest (x, y); points on its edges and repeated points are left
// out, so fewer than 3 vertices come back when all points are collinear (Andrew's monotone chain).
inline std::vector<Point> convex_hull(std::vector<Point> points) {
    for (const Point& point : points)
        if (!std::isfinite(point.x) || !std::isfinite(point.y))
            fail("convex_hull: the point (", point.x, ", ", point.y, ") is not finite");
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
    points.erase(std::unique(points.begin(), points.end()), points.end());
    if (points.size() < 3) return points;
    std::vector<Point> hull(2 * points.size());
    std::size_t size = 0;
    for (std::size_t i = 0; i < points.size(); ++i) { // lower chain
        while (size >= 2 && detail::cross(hull[size - 2], hull[size - 1], points[i]) <= 0) --size;
        hull[size++] = points[i];
    }
    for (std::size_t i = points.size() - 1, lower = size + 1; i-- > 0;) { // upper chain
        while (size >= lower && detail::cross(hull[size - 2], hull[size - 1], points[i]) <= 0) --size;
        hull[size++] = points[i];
    }
    hull.resize(size - 1); // the last point repeats the first
    return hull;
}

// x' = a x - b y + tx, y' = b x + a y + ty: a rotation by atan2(b, a), a scaling by hypot(a, b)
// and a translation.
struct SimilarityTransform {
    double a = 1, b = 0, tx = 0, ty = 0;

    Point apply(const Point& p) const { return {a * p.x - b * p.y + tx, b * p.x + a * p.y + ty}; }

    SimilarityTransform inverse() const {
        const double norm = a * a + b * b;
        if (!(norm > 0)) fail("SimilarityTransform::inverse: the transform has zero scale");
        const double ia = a / norm, ib = -b / norm;
        return {ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)};
    }

    // This transform after `first`: p -> apply(first.apply(p)).
    SimilarityTransform after(const SimilarityTransform& first) const {
        return {a * first.a - b * first.b, a * first.b + b * first.a, a * first.tx - b * first.ty + tx,
                b * first.tx + a * first.ty + ty};
    }
};

// The similarity transform T minimising sum |T(from[i]) - to[i]|^2 (closed form: with centred
// points, a + ib = sum conj(from) * to / sum |from|^2 in complex numbers). No reflection.
inline SimilarityTransform fit_similarity(const std::vector<Point>& from, const std::vector<Point>& to) {
    if (from.size() != to.size() || from.size() < 2)
        fail("fit_similarity: needs two lists of at least 2 corresponding points, got ", from.size(), " and ",
             to.size(), "; both faces need landmarks of the same scheme");
    const double n = double(from.size());
    Point from_mean, to_mean;
    for (std::size_t i = 0; i < from.size(); ++i) {
        from_mean.x += from[i].x / n, from_mean.y += from[i].y / n;
        to_mean.x += to[i].x / n, to_mean.y += to[i].y / n;
    }
    double real = 0, imaginary = 0, norm = 0;
    for (std::size_t i = 0; i < from.size(); ++i) {
        const double fx = from[i].x - from_mean.x, fy = from[i].y - from_mean.y;
        const double tx = to[i].x - to_mean.x, ty = to[i].y - to_mean.y;
        real += fx * tx + fy * ty;
        imaginary += fx * ty - fy * tx;
        norm += fx * fx + fy * fy;
    }
    if (!(norm > 0) || !std::isfinite(norm))
        fail("fit_similarity: the source points all coincide (or are not finite); no transform is defined");
    SimilarityTransform result{real / norm, imaginary / norm, 0, 0};
    const Point moved = result.apply(from_mean);
    result.tx = to_mean.x - moved.x;
    result.ty = to_mean.y - moved.y;
    return result;
}

} // namespace clipft::faces
