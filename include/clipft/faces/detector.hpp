#pragma once
// Face detection as the thesis' preprocessing does it (its section 7), with dlib: the HOG frontal
// face detector keeps faces whose score reaches a threshold and whose box is at least a minimum
// size (95 x 95 in the thesis), then the 68-point shape predictor places the landmarks.
//
// Needs dlib (Debian: libdlib-dev) and the predictor's model file (Debian: libdlib-data installs
// /usr/share/dlib/shape_predictor_68_face_landmarks.dat). Only this header includes dlib, so code
// that crops or blends faces builds without it.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/faces/face.hpp>
#include <clipft/image/image.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/image_transforms/interpolation.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::faces {

// Where Debian's libdlib-data puts the 68-point landmark model.
inline std::filesystem::path default_landmarks_model() {
    return "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
}

struct DetectorOptions {
    // Faces whose HOG score is below are dropped. The score is an SVM margin, not a probability:
    // 0 is dlib's own decision boundary, higher values keep fewer, clearer faces.
    double threshold = 0;
    // Both sides of a kept face's box are at least this many pixels.
    std::int64_t min_size = 95;
    // Doublings of the image before detection: each finds faces half as large (the HOG window is
    // 80 x 80 pixels) at about four times the cost.
    int upsample = 0;
    // Place the 68 landmarks (loads `landmarks_model`); without them crops cannot be aligned.
    bool landmarks = true;
    std::filesystem::path landmarks_model = default_landmarks_model();
};

// Not thread-safe (dlib's detector keeps scratch buffers): give every thread its own copy. Copies
// share the landmark model, which is read-only once loaded, so a copy costs no second load.
class FaceDetector {
public:
    explicit FaceDetector(DetectorOptions options = {})
        : options_(std::move(options)), detector_(dlib::get_frontal_face_detector()) {
        if (!std::isfinite(options_.threshold))
            fail("FaceDetector: the threshold must be a finite number, got ", options_.threshold);
        if (options_.min_size < 1)
            fail("FaceDetector: the minimum face size must be >= 1 pixel, got ", options_.min_size);
        if (options_.upsample < 0 || options_.upsample > 4)
            fail("FaceDetector: upsample must be 0 to 4 doublings of the image, got ", options_.upsample);
        if (options_.landmarks) predictor_ = load_predictor(options_.landmarks_model);
    }

    const DetectorOptions& options() const { return options_; }

    // The faces in `image` that pass the threshold and the minimum size, highest score first.
    std::vector<Face> detect(const image::Image& image) {
        dlib::array2d<dlib::rgb_pixel> pixels(long(image.height), long(image.width));
        for (std::int64_t y = 0; y < image.height; ++y) {
            const std::uint8_t* source = image.row(y);
            for (std::int64_t x = 0; x < image.width; ++x, source += image.channels)
                pixels[long(y)][long(x)] = dlib::rgb_pixel(source[0], source[1], source[2]);
        }
        std::vector<dlib::rect_detection> detections;
        dlib::pyramid_down<2> pyramid;
        if (options_.upsample == 0) {
            detector_(pixels, detections, options_.threshold);
        } else {
            dlib::array2d<dlib::rgb_pixel> larger;
            dlib::assign_image(larger, pixels);
            for (int i = 0; i < options_.upsample; ++i) dlib::pyramid_up(larger, pyramid);
            detector_(larger, detections, options_.threshold);
            for (dlib::rect_detection& detection : detections)
                detection.rect = pyramid.rect_down(detection.rect, unsigned(options_.upsample));
        }
        std::sort(detections.begin(), detections.end(),
                  [](const auto& a, const auto& b) { return a.detection_confidence > b.detection_confidence; });

        std::vector<Face> faces;
        for (const dlib::rect_detection& detection : detections) {
            const dlib::rectangle& rect = detection.rect;
            if (std::int64_t(rect.width()) < options_.min_size || std::int64_t(rect.height()) < options_.min_size)
                continue;
            Face face{{rect.left(), rect.top(), std::int64_t(rect.width()), std::int64_t(rect.height())},
                      detection.detection_confidence,
                      {}};
            if (predictor_) {
                dlib::full_object_detection shape = (*predictor_)(pixels, rect);
                for (unsigned long i = 0; i < shape.num_parts(); ++i)
                    face.landmarks.push_back({double(shape.part(i).x()), double(shape.part(i).y())});
            }
            faces.push_back(std::move(face));
        }
        return faces;
    }

private:
    static std::shared_ptr<const dlib::shape_predictor> load_predictor(const std::filesystem::path& path) {
        std::error_code error;
        if (!std::filesystem::is_regular_file(path, error))
            fail(path.string(),
                 ": the 68-point landmark model is missing; install it with the Debian package libdlib-data "
                 "(apt-get install libdlib-data) or give the path of shape_predictor_68_face_landmarks.dat");
        std::ifstream in(path, std::ios::binary);
        if (!in) fail(path.string(), ": cannot open the landmark model: ", std::strerror(errno));
        auto predictor = std::make_shared<dlib::shape_predictor>();
        try {
            dlib::deserialize(*predictor, in);
        } catch (const std::exception& reason) {
            fail(path.string(), ": not a dlib shape predictor model (", reason.what(),
                 "); expected shape_predictor_68_face_landmarks.dat from libdlib-data");
        }
        if (predictor->num_parts() != 68)
            fail(path.string(), ": the landmark model places ", predictor->num_parts(),
                 " points; clipft needs the 68-point model (shape_predictor_68_face_landmarks.dat)");
        return predictor;
    }

    DetectorOptions options_;
    dlib::frontal_face_detector detector_;
    std::shared_ptr<const dlib::shape_predictor> predictor_;
};

} // namespace clipft::faces
