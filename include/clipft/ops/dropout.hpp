#pragma once
// Inverted dropout: during training each element is zeroed with probability p and the kept ones are
// scaled by 1 / (1 - p), so evaluation needs no rescaling.
#include <clipft/backends.hpp>
#include <clipft/ops/elementwise.hpp>
#include <clipft/random.hpp>

namespace clipft::inline CLIPFT_BACKENDS::ops {

// x times a mask of 0 and 1 / (1 - p) drawn from `generator` (one uniform draw per element, in
// row-major order, on one thread so the mask is independent of the thread count). The backward
// multiplies by the same mask. Identity (x itself) when !training or p == 0. The mask is drawn on the
// host for every device, so a seed gives the same mask on a GPU as on the CPU.
template <Floating T>
Tensor<T> dropout(const Tensor<T>& x, double probability, Generator& generator, bool training = true) {
    Device device = common_device("dropout", x);
    if (!(probability >= 0.0 && probability < 1.0))
        fail("dropout: probability ", probability, " for the input of shape ", x.shape(), " is outside [0, 1)");
    if (!training || probability == 0.0) return x;
    T kept = T(1.0 / (1.0 - probability));
    Tensor<T> mask = Tensor<T>::empty(x.shape());
    T* values = mask.data();
    for (std::int64_t i = 0; i < mask.numel(); ++i) values[i] = generator.uniform() < probability ? T(0) : kept;
    return mul(x, mask.to(device));
}

} // namespace clipft::ops
