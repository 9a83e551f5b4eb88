#pragma once
// LoRA (Hu et al., 2021): W·x + (α/R)·B·A·x with A [R, in] drawn as PyTorch's kaiming_uniform(a = √5),
// i.e. U(−1/√in, 1/√in), and B [out, R] zero, so that training starts from the base model exactly.
// Dropout, when asked for, acts on the adapter's input while gradients are recorded (training), not
// under a NoGradGuard (validation, inference, merging).
#include <clipft/backends.hpp>
#include <clipft/nn/adapters/weight_adapter.hpp>
#include <clipft/random.hpp>

#include <cmath>

namespace clipft::inline CLIPFT_BACKENDS::nn {

struct LoRAOptions {
    std::int64_t rank = 8;
    double alpha = -1;  // < 0: 2·rank
    double dropout = 0; // probability, on the adapter's input
    double scale() const { return (alpha < 0 ? 2.0 * double(rank) : alpha) / double(rank); }
    double alpha_or_default() const { return alpha < 0 ? 2.0 * double(rank) : alpha; }
};

template <Floating T> struct LoRA : WeightAdapter<T> {
    LoRAOptions options;
    Tensor<T> lora_A, lora_B; // [R, in], [out, R]

    // A drawn from `generator`; the dropout masks come from a generator seeded by one draw of it.
    LoRA(std::int64_t inputs, std::int64_t outputs, const LoRAOptions& settings, Generator& generator)
        : WeightAdapter<T>(inputs, outputs), options(settings), dropout_generator_(0) {
        if (options.rank < 1 || options.rank > std::min(inputs, outputs))
            fail("LoRA: rank ", options.rank, " must be between 1 and min(out, in) = ", std::min(inputs, outputs),
                 " for a weight [", outputs, ", ", inputs, "]");
        if (!(options.dropout >= 0 && options.dropout < 1))
            fail("LoRA: dropout ", options.dropout, " is outside [0, 1)");
        Tensor<T> a = Tensor<T>::empty({options.rank, inputs});
        const double bound = 1.0 / std::sqrt(double(inputs));
        for (std::int64_t i = 0; i < a.numel(); ++i) a.data()[i] = T(-bound + 2 * bound * generator.uniform());
        lora_A = this->register_parameter("lora_A", a);
        lora_B = this->register_parameter("lora_B", Tensor<T>::zeros({outputs, options.rank}));
        dropout_generator_ = Generator(generator.next_bits());
        if (options.dropout > 0) this->register_generator("dropout", dropout_generator_); // checkpointed by the trainer
    }

    Tensor<T> output_change(const Tensor<T>& x) const override {
        Tensor<T> input = ops::dropout(x, options.dropout, dropout_generator_, GradMode::is_enabled());
        return low_rank_product(input, lora_A, lora_B) * T(options.scale());
    }
    Tensor<T> weight_change() const override { return ops::matmul(lora_B, lora_A) * T(options.scale()); }

private:
    mutable Generator dropout_generator_;
};

} // namespace clipft::nn
