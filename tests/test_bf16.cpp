// bfloat16 products on the CPU (AutocastGuard(Precision::bfloat16)): every product path (matmul,
// linear, the patch embedding, attention's per-head products) against a double reference of its
// bfloat16-rounded operands and within bfloat16's tolerance of float, on each kernel this machine
// has (clipft's AVX512-BF16 kernel) and on the cblas_sbgemm path (OpenBLAS's, or a reference stand-in
// where the loaded OpenBLAS has none); the forced float fallback exactly
// float; gradients, tiny-a's embeddings and a short fine-tuning run against float32.
#include "assertions.hpp"
#include "fixtures.hpp"
#include "training_data.hpp"

#include <clipft/backend/cpu/blas.hpp>
#include <clipft/models/checkpoint.hpp>
#include <clipft/ops.hpp>
#include <clipft/random.hpp>
#include <clipft/train/trainer.hpp>

#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <cstring>

using namespace clipft;
using backend::cpu::BFloat16Kernel;

namespace {

// Runs this scope's bfloat16 products on one kernel.
class KernelChoice {
public:
    explicit KernelChoice(BFloat16Kernel kernel) : previous_(backend::cpu::set_bfloat16_kernel(kernel)) {}
    ~KernelChoice() { backend::cpu::set_bfloat16_kernel(previous_); }

private:
    BFloat16Kernel previous_;
};

float bits_to_float(std::uint16_t bits) {
    std::uint32_t word = std::uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &word, sizeof value);
    return value;
}

// cblas_sbgemm's contract (row-major, each operand transposed or not) in double, standing in where
// the loaded OpenBLAS has no cblas_sbgemm (Debian's 0.3.21): what runs then is clipft's side of
// that path, the conversion to bfloat16, the operands' layouts and leading dimensions, the blocks.
void reference_sbgemm(int order, int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                      const std::uint16_t* a, int lda, const std::uint16_t* b, int ldb, float beta, float* c, int ldc) {
    REQUIRE(order == CblasRowMajor);
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            double sum = 0;
            for (int p = 0; p < k; ++p)
                sum += double(bits_to_float(transpose_a == CblasTrans ? a[p * lda + i] : a[i * lda + p])) *
                       double(bits_to_float(transpose_b == CblasTrans ? b[j * ldb + p] : b[p * ldb + j]));
            float& out = c[i * ldc + j];
            out = float(double(alpha) * sum + (beta == 0 ? 0.0 : double(beta) * double(out)));
        }
}

// The bfloat16 kernels this machine runs, the sbgemm path always (on reference_sbgemm where
// OpenBLAS lacks it); a test over them says when the CPU has no AVX512-BF16.
std::vector<BFloat16Kernel> bfloat16_kernels() {
    std::vector<BFloat16Kernel> kernels;
    if (backend::cpu::cpu_has_avx512_bf16())
        kernels.push_back(BFloat16Kernel::own);
    else
        MESSAGE("skipped for clipft's kernel: this CPU has no AVX512-BF16");
    if (!backend::cpu::openblas_sbgemm()) {
        MESSAGE("the loaded OpenBLAS does not export cblas_sbgemm: the sbgemm path runs on a reference stand-in");
        backend::cpu::openblas_sbgemm() = reference_sbgemm;
    }
    kernels.push_back(BFloat16Kernel::sbgemm);
    return kernels;
}

double rounded(float x) { return double(float(BFloat16(x))); }

// a [m, k] @ b [k, n] in double, over operands rounded to bfloat16 or not, with the scale of each
// element's terms (sum of |a_ip b_pj|) for tolerances.
struct Reference {
    std::vector<double> product, scale;
};

Reference reference_product(const Tensor<float>& a, const Tensor<float>& b, bool round) {
    std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    std::vector<float> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
    Reference reference{std::vector<double>(std::size_t(m * n)), std::vector<double>(std::size_t(m * n))};
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t p = 0; p < k; ++p) {
                double left = round ? rounded(x[i * k + p]) : x[i * k + p];
                double right = round ? rounded(y[p * n + j]) : y[p * n + j];
                reference.product[i * n + j] += left * right;
                reference.scale[i * n + j] += std::abs(left * right);
            }
    return reference;
}

// `actual` is the product of bfloat16 operands accumulated in float, not the float product.
void check_bfloat16_product(const Tensor<float>& actual, const Tensor<float>& a, const Tensor<float>& b) {
    Reference of_rounded = reference_product(a, b, true), exact = reference_product(a, b, false);
    std::vector<float> values = actual.contiguous().to_vector();
    REQUIRE(values.size() == of_rounded.product.size());
    double largest_difference_to_float = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        // Float accumulation of k terms: a few ulps of the terms' scale.
        CHECK(std::abs(values[i] - of_rounded.product[i]) <= 1e-5 * of_rounded.scale[i] + 1e-30);
        // bfloat16 operands: each term within 2 * 2^-9 of the float one.
        CHECK(std::abs(values[i] - exact.product[i]) <= 0x1p-8 * exact.scale[i] + 1e-30);
        largest_difference_to_float =
            std::max(largest_difference_to_float, std::abs(values[i] - exact.product[i]) / exact.scale[i]);
    }
    CHECK(largest_difference_to_float > 1e-4); // float operands would stay near 1e-7
}

Tensor<float> random(const Shape& shape, std::uint64_t seed) {
    Generator generator(seed);
    return randn<float>(shape, generator);
}

struct ProductShape {
    std::int64_t m, n, k;
};

// Ragged tiles and odd k; k over several packed blocks; rows over several blocks; products large
// enough to be split over the pool by rows and by columns.
const std::vector<ProductShape> product_shapes{
    {37, 45, 29}, {5, 70, 801}, {500, 40, 16}, {130, 100, 60}, {60, 130, 100}};

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        dot += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
    return dot / std::sqrt(aa * bb);
}

// softmax(q k^T / sqrt(D) + mask) v in double for q, k, v [B, H, L, D] and mask [L, L], with the
// operands of both products (q, k; the probabilities, v) rounded to bfloat16 or not.
std::vector<double> reference_attention(const Tensor<float>& query, const Tensor<float>& key,
                                        const Tensor<float>& value, const Tensor<float>& mask, bool round) {
    std::int64_t heads = query.size(0) * query.size(1), length = query.size(2), d = query.size(3);
    std::vector<float> q = query.contiguous().to_vector(), k = key.contiguous().to_vector(),
                       v = value.contiguous().to_vector();
    std::vector<float> m = mask.contiguous().to_vector();
    auto operand = [round](double x) { return round ? rounded(float(x)) : x; };
    std::vector<double> out;
    for (std::int64_t head = 0; head < heads; ++head) {
        const float* qh = q.data() + head * length * d;
        const float* kh = k.data() + head * length * d;
        const float* vh = v.data() + head * length * d;
        for (std::int64_t i = 0; i < length; ++i) {
            std::vector<double> p(static_cast<std::size_t>(length));
            double top = -1e300, total = 0;
            for (std::int64_t j = 0; j < length; ++j) {
                double dot = 0;
                for (std::int64_t e = 0; e < d; ++e) dot += operand(qh[i * d + e]) * operand(kh[j * d + e]);
                p[j] = dot / std::sqrt(double(d)) + m[i * length + j];
                top = std::max(top, p[j]);
            }
            for (double& x : p) total += x = std::exp(x - top);
            for (std::int64_t e = 0; e < d; ++e) {
                double sum = 0;
                for (std::int64_t j = 0; j < length; ++j) sum += operand(p[j] / total) * operand(vh[j * d + e]);
                out.push_back(sum);
            }
        }
    }
    return out;
}

double mean_difference(const std::vector<float>& actual, const std::vector<double>& expected) {
    double total = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) total += std::abs(actual[i] - expected[i]);
    return total / double(actual.size());
}

// CLIP's text attention on a small scale: q, k and v strided views of one fused projection
// [B, L, 3, H, D] (an odd D and L: ragged pairs in both products), the causal mask; forward and
// backward each in their precision. Returns the output and the projection's gradient.
struct AttentionRun {
    Tensor<float> query, key, value, output, gradient;
};
AttentionRun run_attention(Precision forward_precision, Precision backward_precision) {
    constexpr std::int64_t batch = 2, length = 21, heads = 2, d = 23;
    Tensor<float> qkv = random({batch, length, 3, heads, d}, 20).requires_grad_(true);
    Tensor<float> projected = qkv.permute({2, 0, 3, 1, 4}); // [3, B, H, L, D]
    AttentionRun run{
        projected.select(0, 0).detach(), projected.select(0, 1).detach(), projected.select(0, 2).detach(), {}, {}};
    {
        AutocastGuard autocast(forward_precision);
        run.output = ops::scaled_dot_product_attention(projected.select(0, 0), projected.select(0, 1),
                                                       projected.select(0, 2), ops::causal_mask<float>(length));
    }
    {
        AutocastGuard autocast(backward_precision);
        ops::sum(run.output * random({batch, heads, length, d}, 21)).backward();
    }
    run.output = run.output.detach();
    run.gradient = qkv.grad();
    return run;
}

} // namespace

TEST_CASE("bfloat16 attention: the per-head products of forward and backward read bfloat16") {
    AttentionRun in_float = run_attention(Precision::float32, Precision::float32);
    Tensor<float> mask = ops::causal_mask<float>(21);
    std::vector<double> of_rounded = reference_attention(in_float.query, in_float.key, in_float.value, mask, true);
    std::vector<double> exact = reference_attention(in_float.query, in_float.key, in_float.value, mask, false);
    CHECK(mean_difference(in_float.output.to_vector(), exact) < 1e-6);
    std::vector<float> float_gradient = in_float.gradient.to_vector();
    for (BFloat16Kernel kernel : bfloat16_kernels()) {
        KernelChoice choice(kernel);
        CAPTURE(backend::cpu::bfloat16_kernel_name(kernel));
        AttentionRun in_bfloat16 = run_attention(Precision::bfloat16, Precision::bfloat16);
        std::vector<float> output = in_bfloat16.output.to_vector();
        // Both products from bfloat16 operands: far nearer the rounded reference than the exact one,
        // and within bfloat16's tolerance of it.
        double to_rounded = mean_difference(output, of_rounded), to_exact = mean_difference(output, exact);
        CHECK(to_exact > 1e-4);
        CHECK(to_rounded < 0.1 * to_exact);
        CHECK(testing::excess(in_bfloat16.output, in_float.output, 2e-2) <= 2e-2);
        CHECK(cosine(in_bfloat16.gradient.to_vector(), float_gradient) > 0.9995);
        // Backward alone in bfloat16 (forward and its saved probabilities float): its products differ from float's.
        AttentionRun backward_only = run_attention(Precision::float32, Precision::bfloat16);
        CHECK(backward_only.output.to_vector() == in_float.output.to_vector());
        std::vector<float> gradient = backward_only.gradient.to_vector();
        CHECK(gradient != float_gradient);
        CHECK(cosine(gradient, float_gradient) > 0.9995);
    }
    KernelChoice fallback(BFloat16Kernel::float32);
    AttentionRun forced = run_attention(Precision::bfloat16, Precision::bfloat16);
    CHECK(forced.output.to_vector() == in_float.output.to_vector());
    CHECK(forced.gradient.to_vector() == float_gradient);
}

TEST_CASE("bfloat16 matmul reads every operand layout as bfloat16 and accumulates in float") {
    for (BFloat16Kernel kernel : bfloat16_kernels()) {
        KernelChoice choice(kernel);
        CAPTURE(backend::cpu::bfloat16_kernel_name(kernel));
        for (const ProductShape& shape : product_shapes) {
            CAPTURE(shape.m);
            CAPTURE(shape.n);
            CAPTURE(shape.k);
            Tensor<float> a = random({shape.m, shape.k}, 1), b = random({shape.k, shape.n}, 2);
            // Transposed views reach the kernel as flags: each of the four combinations.
            Tensor<float> a_transposed = a.transpose(0, 1).contiguous().transpose(0, 1);
            Tensor<float> b_transposed = b.transpose(0, 1).contiguous().transpose(0, 1);
            AutocastGuard autocast(Precision::bfloat16);
            check_bfloat16_product(ops::matmul(a, b), a, b);
            check_bfloat16_product(ops::matmul(a_transposed, b), a, b);
            check_bfloat16_product(ops::matmul(a, b_transposed), a, b);
            check_bfloat16_product(ops::matmul(a_transposed, b_transposed), a, b);
        }
    }
}

TEST_CASE("bfloat16 linear adds its bias in float; batched matmul and the patch embedding run in bfloat16") {
    for (BFloat16Kernel kernel : bfloat16_kernels()) {
        KernelChoice choice(kernel);
        CAPTURE(backend::cpu::bfloat16_kernel_name(kernel));
        Tensor<float> x = random({3, 17, 40}, 3), weight = random({50, 40}, 4), bias = random({50}, 5);
        Tensor<float> product, batched;
        {
            AutocastGuard autocast(Precision::bfloat16);
            product = ops::linear(x, weight, bias);
            batched = ops::matmul(x, random({3, 40, 9}, 6));
        }
        Tensor<float> without_bias = product - bias.reshape({1, 1, 50});
        check_bfloat16_product(without_bias.reshape({51, 50}), x.reshape({51, 40}), weight.transpose(0, 1));
        Tensor<float> right = random({3, 40, 9}, 6);
        for (std::int64_t i = 0; i < 3; ++i)
            check_bfloat16_product(batched.select(0, i), x.select(0, i), right.select(0, i));

        // The patch embedding: 8x8 patches of a 16x16 image, one product of the patch rows.
        Tensor<float> image = random({2, 3, 16, 16}, 7), filters = random({12, 3, 8, 8}, 8), no_bias;
        Tensor<float> float_patches = ops::conv2d(image, filters, no_bias, 8), bfloat16_patches;
        {
            AutocastGuard autocast(Precision::bfloat16);
            bfloat16_patches = ops::conv2d(image, filters, no_bias, 8);
        }
        CHECK(testing::excess(bfloat16_patches, float_patches, 2e-2) <= 0.3);
        CHECK(testing::excess(bfloat16_patches, float_patches, 0) > 1e-4);
    }
}

TEST_CASE("the forced float fallback computes bfloat16 products exactly as float ones") {
    Tensor<float> a = random({60, 130}, 9), b = random({130, 100}, 10), weight = random({20, 130}, 11);
    Tensor<float> float_product = ops::matmul(a, b), float_linear = ops::linear(a, weight);
    KernelChoice fallback(BFloat16Kernel::float32);
    CHECK(backend::cpu::bfloat16_kernel() == BFloat16Kernel::float32);
    AutocastGuard autocast(Precision::bfloat16);
    CHECK(ops::matmul(a, b).to_vector() == float_product.to_vector());
    CHECK(ops::linear(a, weight).to_vector() == float_linear.to_vector());
}

TEST_CASE("unknown bfloat16 kernel names are refused") {
    CHECK(testing::error_message([] { backend::cpu::parse_bfloat16_kernel("fast"); }).find("CLIPFT_CPU_BF16") !=
          std::string::npos);
    CHECK(backend::cpu::parse_bfloat16_kernel("off") == BFloat16Kernel::float32);
}

TEST_CASE("gradients in bfloat16 mode follow float32's") {
    for (BFloat16Kernel kernel : bfloat16_kernels()) {
        KernelChoice choice(kernel);
        auto gradients = [](Precision precision) {
            Tensor<float> x = random({24, 48}, 14).requires_grad_(true);
            Tensor<float> w1 = random({64, 48}, 15).requires_grad_(true), b1 = random({64}, 16).requires_grad_(true);
            Tensor<float> w2 = random({64, 16}, 17).requires_grad_(true), weights = random({24, 16}, 18);
            AutocastGuard autocast(precision);
            Tensor<float> hidden = ops::gelu(ops::linear(x, w1, b1) * 0.1f);
            ops::sum(ops::matmul(hidden, w2) * weights).backward();
            return std::vector<Tensor<float>>{x.grad(), w1.grad(), b1.grad(), w2.grad()};
        };
        std::vector<Tensor<float>> in_float = gradients(Precision::float32),
                                   in_bfloat16 = gradients(Precision::bfloat16);
        for (std::size_t i = 0; i < in_float.size(); ++i) {
            CAPTURE(i);
            std::vector<float> exact = in_float[i].to_vector(), approximate = in_bfloat16[i].to_vector();
            CHECK(cosine(exact, approximate) > 0.9995);
            CHECK(exact != approximate);
        }
    }
}

TEST_CASE("tiny-a's bfloat16 embeddings match float32's") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    std::vector<BFloat16Kernel> kernels = bfloat16_kernels();
    if (kernels.empty()) return;
    KernelChoice choice(kernels.front());
    auto model = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
    Tensor<float> pixels = random({4, 3, 32, 32}, 19);
    Tensor<std::int64_t> ids = testing::deepfake_descriptions().token_ids;
    Tensor<float> images = model->encode_image(pixels), texts = model->encode_text(ids), images16, texts16;
    {
        AutocastGuard autocast(Precision::bfloat16);
        images16 = model->encode_image(pixels);
        texts16 = model->encode_text(ids);
    }
    for (auto [exact, approximate] : {std::pair{images, images16}, std::pair{texts, texts16}})
        for (std::int64_t row = 0; row < exact.size(0); ++row) {
            CHECK(cosine(exact.select(0, row).to_vector(), approximate.select(0, row).to_vector()) >= 0.999);
            CHECK(exact.select(0, row).to_vector() != approximate.select(0, row).to_vector());
        }
}

TEST_CASE("fine-tuning in bfloat16 lowers the validation loss as float32 does") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    std::vector<BFloat16Kernel> kernels = bfloat16_kernels();
    if (kernels.empty()) return;
    KernelChoice choice(kernels.front());
    auto run = [](Precision precision) {
        testing::TemporaryDirectory folder;
        auto model = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
        train::TrainerOptions options = testing::small_run(folder.path());
        options.precision = precision;
        train::Trainer trainer(*model, testing::generated_images(16, 1), testing::generated_images(8, 2),
                               testing::deepfake_descriptions(), options);
        double before = trainer.validation_loss();
        return std::pair{before, trainer.run().best_validation_loss};
    };
    auto [float_before, float_after] = run(Precision::float32);
    auto [bfloat16_before, bfloat16_after] = run(Precision::bfloat16);
    CHECK(bfloat16_before == doctest::Approx(float_before).epsilon(1e-2));
    CHECK(bfloat16_after < bfloat16_before - 0.5 * (float_before - float_after));
    CHECK(bfloat16_after == doctest::Approx(float_after).epsilon(5e-2));
}
