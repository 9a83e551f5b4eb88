// Synthetic faces and deepfake tasks: 68 landmarks where the face is, the same pictures for the
// same seed whatever the thread count, fakes that differ from reals only inside the face.
#include "assertions.hpp"
#include "fixtures.hpp"

#include <clipft/backend/threads.hpp>
#include <clipft/data/synthetic_faces.hpp>

using namespace clipft;

TEST_CASE("a synthetic face has 68 landmarks in dlib's layout, inside the picture") {
    Generator generator(3);
    data::SyntheticFace face = data::synthetic_face(96, generator);
    CHECK(face.image.height == 96);
    CHECK(face.image.width == 96);
    REQUIRE(face.landmarks.size() == 68);
    for (const auto& point : face.landmarks) {
        CHECK(point.x > 0);
        CHECK(point.x < 96);
        CHECK(point.y > 0);
        CHECK(point.y < 96);
    }
    // Eyes (36-47) above the mouth (48-67), the left eye left of the right one, the chin (8) lowest.
    double left_eye = 0, right_eye = 0, eyes_y = 0, mouth_y = 0;
    for (int i = 36; i < 42; ++i) left_eye += face.landmarks[i].x / 6, eyes_y += face.landmarks[i].y / 12;
    for (int i = 42; i < 48; ++i) right_eye += face.landmarks[i].x / 6, eyes_y += face.landmarks[i].y / 12;
    for (int i = 48; i < 68; ++i) mouth_y += face.landmarks[i].y / 20;
    CHECK(left_eye < right_eye);
    CHECK(eyes_y < mouth_y);
    for (const auto& point : face.landmarks) CHECK(point.y <= face.landmarks[8].y + 1e-9);
    CHECK(testing::error_message([] {
              Generator g(1);
              data::synthetic_face(8, g);
          }).find("too small") != std::string::npos);
}

TEST_CASE("a synthetic task is the same for the same seed, whatever the thread count") {
    auto first = data::synthetic_deepfakes(3, 48, data::FakeKind::self_blended, 5);
    int threads = backend::num_threads();
    backend::set_num_threads(1);
    auto again = data::synthetic_deepfakes(3, 48, data::FakeKind::self_blended, 5);
    backend::set_num_threads(threads);
    REQUIRE(first.images.size() == 6);
    CHECK(first.labels == std::vector<std::int64_t>{0, 1, 0, 1, 0, 1});
    for (std::size_t i = 0; i < 6; ++i) CHECK(first.images[i].pixels == again.images[i].pixels);
    auto other = data::synthetic_deepfakes(3, 48, data::FakeKind::self_blended, 6);
    CHECK(other.images[0].pixels != first.images[0].pixels);
}

TEST_CASE("fakes of both kinds change the face, not the corners") {
    for (auto kind : {data::FakeKind::self_blended, data::FakeKind::face_swap}) {
        faces::SelfBlendOptions strong;
        strong.blend_ratios = {1.0};
        auto set = data::synthetic_deepfakes(2, 64, kind, 9, strong);
        // Picture 1 is a fake made from the face its generator draws first: draw that face again.
        Generator generator(9 * 1000003 + 1);
        data::SyntheticFace original = data::synthetic_face(64, generator);
        const image::Image& fake = set.images[1];
        double inside = 0, corner = 0;
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                for (int c = 0; c < 3; ++c) {
                    double difference = std::abs(double(fake.at(y, x, c)) - double(original.image.at(y, x, c)));
                    if (x < 6 && y < 6) corner += difference;
                    if (std::abs(x - 32) < 8 && std::abs(y - 36) < 8) inside += difference;
                }
        CHECK(corner == 0);
        CHECK(inside > 0);
    }
}
