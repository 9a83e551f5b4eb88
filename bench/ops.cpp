// clipft's CLIP ops and one CLIP residual attention block, forward and forward+backward, at the
// shapes of CLIP fine-tuning. bench/ops_torch.py measures the same cases, by the same names and the
// same method, in PyTorch; bench/run_all.sh runs both and bench/summarize.py compares them.
//
// Method (both sides): warm up, then repetitions that each run enough iterations to fill a minimum
// time; a case's time is the median over repetitions of the mean wall time per iteration.
//   forward           the op under no-grad (inference)
//   forward+backward  the op on inputs and parameters that require gradients, then backward from
//                     sum(output * fixed random weights), so the upstream gradient is not all ones;
//                     the gradients are dropped after each iteration, as an optimizer's zero_grad does
#include <clipft/clip.hpp>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using Tensor = clipft::Tensor<float>;
using clipft::Shape;

std::string shape_name(const Shape& shape) {
    std::string name;
    for (std::int64_t extent : shape) {
        if (!name.empty()) name += 'x'; // appended, not "x" + a temporary: GCC 12's false -Wrestrict
        name += std::to_string(extent);
    }
    return name;
}

Tensor random_normal(const Shape& shape, std::uint64_t seed, double std = 1.0) {
    clipft::Generator generator(seed);
    return clipft::randn<float>(shape, generator, 0.0, std);
}

Tensor leaf(Tensor x) { return x.requires_grad_(); }

struct Case {
    std::vector<Tensor> leaves; // everything that gets a gradient
    std::function<Tensor()> forward;
};

// A named case whose tensors are drawn on its first run, so that a filtered run skips the setup of
// the others; the forward and forward+backward benchmarks of a case share one.
class LazyCase {
public:
    LazyCase(std::string name, std::function<Case()> make) : name_(std::move(name)), make_(std::move(make)) {}

    const std::string& name() const { return name_; } // "op/shape", the key shared with ops_torch.py
    const Case& get() {
        if (!built_) built_ = std::make_unique<Case>(make_());
        return *built_;
    }
    // The fixed random weights w of the backward's loss sum(output * w).
    const Tensor& loss_weights() {
        if (!loss_weights_.defined()) {
            clipft::NoGradGuard no_grad;
            loss_weights_ = random_normal(get().forward().shape(), 2);
        }
        return loss_weights_;
    }

private:
    std::string name_;
    std::function<Case()> make_;
    std::unique_ptr<Case> built_;
    Tensor loss_weights_;
};

LazyCase unary_case(const std::string& op, const Shape& shape, double spread, Tensor (*f)(const Tensor&)) {
    return {op + "/" + shape_name(shape), [=]() -> Case {
                Tensor x = leaf(random_normal(shape, 1, spread));
                return {{x}, [x, f] { return f(x); }};
            }};
}

LazyCase layer_norm_case(const Shape& shape) {
    return {"layer_norm/" + shape_name(shape), [=]() -> Case {
                std::int64_t width = shape.back();
                Tensor x = leaf(random_normal(shape, 1));
                Tensor weight = leaf(Tensor::ones({width})), bias = leaf(Tensor::zeros({width}));
                return {{x, weight, bias}, [x, weight, bias] { return clipft::layer_norm(x, weight, bias, 1e-5); }};
            }};
}

// A CLIP ResidualAttentionBlock with PyTorch's parameter layout (nn.MultiheadAttention's fused
// in_proj, QuickGELU MLP of 4x the width), on batch-first tokens [B, L, width].
struct Block {
    std::int64_t heads;
    Tensor ln_1_weight, ln_1_bias, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias;
    Tensor ln_2_weight, ln_2_bias, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias;
    Tensor mask; // undefined for the image tower, causal for the text tower

    Block(std::int64_t width, std::int64_t heads_, std::int64_t length, bool causal) : heads(heads_) {
        std::uint64_t seed = 10;
        auto weight = [&](const Shape& shape) { return leaf(random_normal(shape, seed++, 0.02)); };
        ln_1_weight = leaf(Tensor::ones({width}));
        ln_1_bias = leaf(Tensor::zeros({width}));
        in_proj_weight = weight({3 * width, width});
        in_proj_bias = weight({3 * width});
        out_proj_weight = weight({width, width});
        out_proj_bias = weight({width});
        ln_2_weight = leaf(Tensor::ones({width}));
        ln_2_bias = leaf(Tensor::zeros({width}));
        c_fc_weight = weight({4 * width, width});
        c_fc_bias = weight({4 * width});
        c_proj_weight = weight({width, 4 * width});
        c_proj_bias = weight({width});
        if (causal) mask = clipft::causal_mask<float>(length);
    }

    std::vector<Tensor> parameters() const {
        return {ln_1_weight, ln_1_bias, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                ln_2_weight, ln_2_bias, c_fc_weight,    c_fc_bias,    c_proj_weight,   c_proj_bias};
    }

    Tensor operator()(const Tensor& x) const {
        std::int64_t batch = x.size(0), length = x.size(1), width = x.size(2);
        // [B, L, 3 * width] -> [3, B, heads, L, head_dim]: q, k and v are strided views of one GEMM.
        Tensor qkv = clipft::linear(clipft::layer_norm(x, ln_1_weight, ln_1_bias), in_proj_weight, in_proj_bias)
                         .reshape({batch, length, 3, heads, width / heads})
                         .permute({2, 0, 3, 1, 4});
        Tensor attended =
            clipft::scaled_dot_product_attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), mask);
        attended = attended.permute({0, 2, 1, 3}).reshape({batch, length, width});
        Tensor h = x + clipft::linear(attended, out_proj_weight, out_proj_bias);
        // As nn::MLP computes it: c_fc's bias and QuickGELU fused into its product.
        Tensor hidden = clipft::linear_activation(clipft::layer_norm(h, ln_2_weight, ln_2_bias), c_fc_weight, c_fc_bias,
                                                  clipft::ops::functions::QuickGelu{});
        return h + clipft::linear(hidden, c_proj_weight, c_proj_bias);
    }
};

LazyCase block_case(const std::string& op, std::int64_t batch, std::int64_t length, std::int64_t width,
                    std::int64_t heads, bool causal) {
    return {op + "/" + shape_name({batch, length, width}) + "h" + std::to_string(heads), [=]() -> Case {
                Block block(width, heads, length, causal);
                Tensor x = leaf(random_normal({batch, length, width}, 1));
                std::vector<Tensor> leaves = block.parameters();
                leaves.insert(leaves.begin(), x);
                return {leaves, [x, block] { return block(x); }};
            }};
}

// The MLP's first layer, quick_gelu(x W^T + b) for x [rows, width] and W [4 width, width]: as the
// separate ops linear and quick_gelu, or fused (linear_activation), measured side by side.
LazyCase mlp_input_case(const std::string& op, std::int64_t rows, std::int64_t width, bool fused) {
    return {op + "/" + shape_name({rows, width, 4 * width}), [=]() -> Case {
                Tensor x = leaf(random_normal({rows, width}, 1));
                Tensor weight = leaf(random_normal({4 * width, width}, 2, 0.02)),
                       bias = leaf(random_normal({4 * width}, 3, 0.02));
                if (fused)
                    return {{x, weight, bias}, [=] {
                                return clipft::linear_activation(x, weight, bias, clipft::ops::functions::QuickGelu{});
                            }};
                return {{x, weight, bias}, [=] { return clipft::quick_gelu(clipft::linear(x, weight, bias)); }};
            }};
}

// Attention alone, as the text tower runs it: softmax(q k^T / sqrt(D) + causal mask) v over 8 texts of
// 8 heads of 77 tokens and 64 dimensions.
LazyCase causal_attention_case() {
    return {"causal_attention/8x8x77x64", []() -> Case {
                Tensor q = leaf(random_normal({8, 8, 77, 64}, 1)), k = leaf(random_normal({8, 8, 77, 64}, 2));
                Tensor v = leaf(random_normal({8, 8, 77, 64}, 3)), mask = clipft::causal_mask<float>(77);
                return {{q, k, v}, [=] { return clipft::scaled_dot_product_attention(q, k, v, mask); }};
            }};
}

std::vector<std::shared_ptr<LazyCase>> cases() {
    std::vector<std::shared_ptr<LazyCase>> all;
    auto add = [&](LazyCase c) { all.push_back(std::make_shared<LazyCase>(std::move(c))); };
    for (Shape shape : {Shape{400, 768}, Shape{8 * 77, 512}, Shape{16 * 257, 1024}}) add(layer_norm_case(shape));
    for (Shape shape : {Shape{8 * 12 * 77, 77}, Shape{16 * 16 * 257, 257}})
        add(unary_case("softmax", shape, 3.0, [](const Tensor& x) { return clipft::softmax(x, -1); }));
    for (Shape shape : {Shape{400, 3072}, Shape{16 * 257, 4096}}) {
        add(unary_case("gelu", shape, 2.0, [](const Tensor& x) { return clipft::gelu(x); }));
        add(unary_case("quick_gelu", shape, 2.0, [](const Tensor& x) { return clipft::quick_gelu(x); }));
    }
    add(causal_attention_case());
    add(mlp_input_case("linear_quick_gelu", 400, 768, false)); // ViT-B/32, 8 images
    add(mlp_input_case("linear_quick_gelu_fused", 400, 768, true));
    add(block_case("attention_block", 16, 50, 768, 12, false));     // ViT-B/32 image tower
    add(block_case("causal_attention_block", 8, 77, 512, 8, true)); // text tower
    return all;
}

void forward(benchmark::State& state, const std::shared_ptr<LazyCase>& lazy) {
    const Case& c = lazy->get();
    clipft::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(c.forward().data());
}

void forward_backward(benchmark::State& state, const std::shared_ptr<LazyCase>& lazy) {
    const Case& c = lazy->get();
    const Tensor& weights = lazy->loss_weights();
    for (auto _ : state) {
        clipft::sum(c.forward() * weights).backward();
        for (Tensor parameter : c.leaves) parameter.zero_grad();
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("clipft_threads", std::to_string(clipft::num_threads()));
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
    benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
    for (const auto& c : cases()) {
        benchmark::RegisterBenchmark((c->name() + "/forward").c_str(), forward, c)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((c->name() + "/forward+backward").c_str(), forward_backward, c)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
