// Image decoding (JPEG, PNG, BMP through stb_image, EXIF orientation) and CLIP's preprocessing
// (bicubic resize of the shorter side, center crop, normalisation) of every decoded image.
#include "fuzz_input.hpp"

#include <clipft/image/image.hpp>
#include <clipft/image/preprocess.hpp>

using namespace clipft;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::refused_or_accepted([&] {
        // Below the default limit, so that the fuzzer's 2 GB memory cap tests the limit check rather
        // than the machine; the default is tested on its own in tests/test_image.cpp.
        image::LoadOptions options;
        options.limits.max_image_pixels = 4'000'000;
        image::Image decoded = image::decode_image({data, size}, "fuzz-input", options);
        Tensor<float> pixels = image::preprocess(decoded);
        if (pixels.shape() != Shape{3, 224, 224}) std::abort();
    });
    return 0;
}
