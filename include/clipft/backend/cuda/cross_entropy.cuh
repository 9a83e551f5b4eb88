#pragma once
// cross_entropy rows: per-sample loss w[y] * (logsumexp(row) - row[y]) with the row's log-normaliser
// kept for backward, and the gradient coefficient * (softmax(row) - onehot(y)).
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/reduce.cuh>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

template <typename T>
__global__ void cross_entropy_kernel(const T* logits, const std::int64_t* labels, const T* class_weights,
                                     std::int64_t samples, std::int64_t classes, T* losses, T* log_normalisers) {
    using A = Accumulator<T>;
    __shared__ A scratch[32];
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, samples) {
        const T* in = logits + row * classes;
        A largest = -INFINITY;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, classes) largest = ::max(largest, convert<A>(in[i]));
        largest = block_max(largest, scratch);
        A total = 0;
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, classes) total += ::exp(convert<A>(in[i]) - largest);
        A log_normaliser = largest + ::log(block_sum(total, scratch));
        if (threadIdx.x == 0) {
            std::int64_t label = labels[row];
            A weight = class_weights ? convert<A>(class_weights[label]) : A(1);
            log_normalisers[row] = convert<T>(log_normaliser);
            losses[row] = convert<T>(weight * (log_normaliser - convert<A>(in[label])));
        }
    }
}

// coefficients[i]: the weight of sample i's target times its upstream gradient, over the normaliser.
template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const std::int64_t* labels, const T* log_normalisers,
                                              const T* coefficients, std::int64_t samples, std::int64_t classes,
                                              T* dx) {
    using A = Accumulator<T>;
    CLIPFT_FOR_EACH_ROW_OF_BLOCK(row, samples) {
        A shift = convert<A>(log_normalisers[row]), coefficient = convert<A>(coefficients[row]);
        std::int64_t label = labels[row];
        CLIPFT_FOR_EACH_ELEMENT_OF_ROW(i, classes) {
            A value = ::exp(convert<A>(logits[row * classes + i]) - shift) * coefficient;
            dx[row * classes + i] = convert<T>(i == label ? value - coefficient : value);
        }
    }
}

template <typename T>
void cross_entropy(const T* logits, const std::int64_t* labels, const T* class_weights, std::int64_t samples,
                   std::int64_t classes, T* losses, T* log_normalisers) {
    if (samples == 0) return;
    cross_entropy_kernel<<<blocks_for(samples, 1), threads_per_block, 0, current_stream()>>>(
        device_pointer(logits), labels, device_pointer(class_weights), samples, classes, device_pointer(losses),
        device_pointer(log_normalisers));
    check_launch("cross_entropy_kernel");
}

template <typename T>
void cross_entropy_backward(const T* logits, const std::int64_t* labels, const T* log_normalisers,
                            const T* coefficients, std::int64_t samples, std::int64_t classes, T* dx) {
    if (samples == 0) return;
    cross_entropy_backward_kernel<<<blocks_for(samples, 1), threads_per_block, 0, current_stream()>>>(
        device_pointer(logits), labels, device_pointer(log_normalisers), device_pointer(coefficients), samples, classes,
        device_pointer(dx));
    check_launch("cross_entropy_backward_kernel");
}

} // namespace clipft::backend::cuda
