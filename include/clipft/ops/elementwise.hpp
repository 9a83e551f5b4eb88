#pragma once
// Element-wise ops. Binary ops broadcast like NumPy; each unary op is one functor holding its value
// and its derivative, both written once for scalars and SIMD batches on the CPU and for scalars in
// CUDA kernels (backend/math.hpp); the device of the inputs picks the backend.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/backend/cpu/simd.hpp>
#include <clipft/backend/math.hpp>
#include <clipft/ops/checks.hpp>
#include <clipft/ops/reduction.hpp>

#include <cmath>
#include <numbers>

namespace clipft::inline CLIPFT_BACKENDS::ops {

template <Floating T> Tensor<T> neg(const Tensor<T>& x);

namespace detail {

// Strides that read `x` as if it had the broadcast shape `target` (0 along broadcast axes).
template <typename T> Shape broadcast_strides(const Tensor<T>& x, const Shape& target) {
    Shape strides(target.size(), 0);
    std::size_t lead = target.size() - x.shape().size();
    for (std::size_t i = lead; i < target.size(); ++i)
        if (x.shape()[i - lead] != 1) strides[i] = x.strides()[i - lead];
    return strides;
}

// out[i] = f(in[i]...) over n contiguous elements on `device`; f is a CLIPFT_HOST_DEVICE functor.
template <typename T, typename F, typename... In>
void map_contiguous(Device device, T* out, std::int64_t n, F f, const In*... in) {
    if (device.is_cuda()) return backend::cuda::map_contiguous(out, n, f, in...);
    backend::cpu::map_contiguous(out, n, f, in...);
}

// out = f(a, b) with broadcasting; no graph is recorded here.
template <typename T, typename F> Tensor<T> broadcast_map(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
    Device device = common_device(op, a, b);
    Shape shape = broadcast_shapes(op, a.shape(), b.shape());
    Tensor<T> out = Tensor<T>::empty(shape, device);
    if (device.is_cuda()) {
        backend::cuda::use_device(device);
        if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous())
            backend::cuda::map_contiguous(out.data(), out.numel(), f, a.data(), b.data());
        else
            backend::cuda::broadcast_map(out.data(), out.strides(), a.data(), broadcast_strides(a, shape), b.data(),
                                         broadcast_strides(b, shape), shape, f);
        return out;
    }
    if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
        backend::cpu::map_contiguous(out.data(), out.numel(), f, a.data(), b.data());
        return out;
    }
    Shape out_strides = out.strides(), a_strides = broadcast_strides(a, shape), b_strides = broadcast_strides(b, shape);
    const T* pa = a.data();
    const T* pb = b.data();
    backend::cpu::for_each_row<3>(
        shape, {&out_strides, &a_strides, &b_strides},
        [&](const std::array<std::int64_t, 3>& at, std::int64_t n, const std::array<std::int64_t, 3>& step) {
            T* o = out.data() + at[0];
            const T* x = pa + at[1];
            const T* y = pb + at[2];
            if (step[1] == 1 && step[2] == 1)
                backend::cpu::map_contiguous(o, n, f, x, y);
            else if (step[1] == 1 && step[2] == 0)
                backend::cpu::map_with_scalar_right(o, n, f, x, *y);
            else if (step[1] == 0 && step[2] == 1)
                backend::cpu::map_with_scalar_left(o, n, f, *x, y);
            else
                for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i * step[1]], y[i * step[2]]);
        });
    return out;
}

} // namespace detail

namespace functions {

struct Plus {
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V x, V y) const { return x + y; }
};
struct Minus {
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V x, V y) const { return x - y; }
};
struct Times {
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V x, V y) const { return x * y; }
};
struct Divide {
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V x, V y) const { return x / y; }
};

} // namespace functions

// ---- binary ops ----------------------------------------------------------------------------

template <Floating T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out = detail::broadcast_map("add", a, b, functions::Plus{});
    record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{sum_to_shape(grad, sa), sum_to_shape(grad, sb)};
    });
    return out;
}

template <Floating T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out = detail::broadcast_map("sub", a, b, functions::Minus{});
    record("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{sum_to_shape(grad, sa), sum_to_shape(neg(grad), sb)};
    });
    return out;
}

template <Floating T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out = detail::broadcast_map("mul", a, b, functions::Times{});
    bool ga = needs_grad(a), gb = needs_grad(b);
    // Each side saves only what the other side's gradient needs.
    record("mul", out, {a, b},
           [sa = a.shape(), sb = b.shape(), ad = gb ? a.detach() : Tensor<T>(),
            bd = ga ? b.detach() : Tensor<T>()](const Tensor<T>& grad) {
               return std::vector<Tensor<T>>{bd.defined() ? sum_to_shape(mul(grad, bd), sa) : Tensor<T>(),
                                             ad.defined() ? sum_to_shape(mul(grad, ad), sb) : Tensor<T>()};
           });
    return out;
}

template <Floating T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out = detail::broadcast_map("div", a, b, functions::Divide{});
    bool ga = needs_grad(a), gb = needs_grad(b);
    record("div", out, {a, b}, [ga, gb, sa = a.shape(), bd = b.detach(), od = out.detach()](const Tensor<T>& grad) {
        Tensor<T> grad_a = div(grad, bd); // d(a/b)/da = 1/b ; d(a/b)/db = -(a/b)/b
        return std::vector<Tensor<T>>{ga ? sum_to_shape(grad_a, sa) : Tensor<T>(),
                                      gb ? sum_to_shape(neg(mul(grad_a, od)), bd.shape()) : Tensor<T>()};
    });
    return out;
}

// ---- unary ops -----------------------------------------------------------------------------

namespace functions {

struct Neg {
    static constexpr const char* name = "neg";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return -x; }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V, V) const { return -g; }
};
struct Exp {
    static constexpr const char* name = "exp";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::exp(x); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V, V y) const { return g * y; }
};
struct Log {
    static constexpr const char* name = "log";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::log(x); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const { return g / x; }
};
struct Sqrt {
    static constexpr const char* name = "sqrt";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::sqrt(x); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V, V y) const { return g * V(0.5) / y; }
};
struct Tanh {
    static constexpr const char* name = "tanh";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::tanh(x); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V, V y) const { return g * (V(1) - y * y); }
};
struct Sigmoid {
    static constexpr const char* name = "sigmoid";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return V(1) / (V(1) + backend::math::exp(-x)); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V, V y) const { return g * y * (V(1) - y); }
};
// |x|, with PyTorch's derivative sign(x): 0 at x = 0.
struct Abs {
    static constexpr const char* name = "abs";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const {
        return backend::math::where_positive(x, x) - backend::math::where_positive(-x, x);
    }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        return backend::math::where_positive(x, g) - backend::math::where_positive(-x, g);
    }
};
struct Relu {
    static constexpr const char* name = "relu";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::where_positive(x, x); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        return backend::math::where_positive(x, g);
    }
};
// GELU with the exact Gaussian CDF: x * Phi(x).
struct Gelu {
    static constexpr const char* name = "gelu";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const {
        return V(0.5) * x * (V(1) + backend::math::erf(x * V(std::numbers::sqrt2 / 2)));
    }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        V cdf = V(0.5) * (V(1) + backend::math::erf(x * V(std::numbers::sqrt2 / 2)));
        V pdf = backend::math::exp(V(-0.5) * x * x) * V(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
        return g * (cdf + x * pdf);
    }
};
// GELU's tanh approximation (GPT-2, "gelu_pytorch_tanh").
struct GeluTanh {
    static constexpr const char* name = "gelu_tanh";
    static constexpr double k = 0.7978845608028654; // sqrt(2 / pi)
    static constexpr double c = 0.044715;
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const {
        return V(0.5) * x * (V(1) + backend::math::tanh(V(k) * (x + V(c) * x * x * x)));
    }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        V t = backend::math::tanh(V(k) * (x + V(c) * x * x * x));
        return g * (V(0.5) * (V(1) + t) + V(0.5) * x * (V(1) - t * t) * V(k) * (V(1) + V(3 * c) * x * x));
    }
};
// CLIP's activation: x * sigmoid(1.702 x).
struct QuickGelu {
    static constexpr const char* name = "quick_gelu";
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const {
        return x / (V(1) + backend::math::exp(V(-1.702) * x));
    }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        V s = V(1) / (V(1) + backend::math::exp(V(-1.702) * x));
        return g * (s + V(1.702) * x * s * (V(1) - s));
    }
};
struct Pow {
    static constexpr const char* name = "pow";
    double exponent;
    template <typename V> CLIPFT_HOST_DEVICE V value(V x) const { return backend::math::pow(x, V(exponent)); }
    template <typename V> CLIPFT_HOST_DEVICE V derivative(V g, V x, V) const {
        return g * V(exponent) * backend::math::pow(x, V(exponent - 1));
    }
};

} // namespace functions

namespace detail {

// A unary functor's value and derivative as the call operators that map_contiguous applies.
template <typename Function> struct ValueOf {
    Function function;
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V x) const { return function.value(x); }
};
template <typename Function> struct DerivativeOf {
    Function function;
    template <typename V> CLIPFT_HOST_DEVICE V operator()(V g, V x, V y) const { return function.derivative(g, x, y); }
};

} // namespace detail

// Applies one functor element-wise and records its derivative.
template <typename Function, Floating T> Tensor<T> elementwise(const Tensor<T>& x, Function function) {
    Device device = common_device(Function::name, x);
    Tensor<T> input = dense(x);
    Tensor<T> out = Tensor<T>::empty(x.shape(), device);
    detail::map_contiguous(device, out.data(), out.numel(), detail::ValueOf<Function>{function}, input.data());
    record(Function::name, out, {x}, [function, input, output = out.detach()](const Tensor<T>& grad) {
        Tensor<T> g = dense(grad);
        Tensor<T> result = Tensor<T>::empty(g.shape(), g.device());
        detail::map_contiguous(g.device(), result.data(), result.numel(), detail::DerivativeOf<Function>{function},
                               g.data(), input.data(), output.data());
        return std::vector<Tensor<T>>{result};
    });
    return out;
}

template <Floating T> Tensor<T> neg(const Tensor<T>& x) { return elementwise(x, functions::Neg{}); }
template <Floating T> Tensor<T> exp(const Tensor<T>& x) { return elementwise(x, functions::Exp{}); }
template <Floating T> Tensor<T> log(const Tensor<T>& x) { return elementwise(x, functions::Log{}); }
template <Floating T> Tensor<T> sqrt(const Tensor<T>& x) { return elementwise(x, functions::Sqrt{}); }
template <Floating T> Tensor<T> tanh(const Tensor<T>& x) { return elementwise(x, functions::Tanh{}); }
template <Floating T> Tensor<T> sigmoid(const Tensor<T>& x) { return elementwise(x, functions::Sigmoid{}); }
template <Floating T> Tensor<T> abs(const Tensor<T>& x) { return elementwise(x, functions::Abs{}); }
template <Floating T> Tensor<T> relu(const Tensor<T>& x) { return elementwise(x, functions::Relu{}); }
template <Floating T> Tensor<T> gelu(const Tensor<T>& x) { return elementwise(x, functions::Gelu{}); }
template <Floating T> Tensor<T> gelu_tanh(const Tensor<T>& x) { return elementwise(x, functions::GeluTanh{}); }
template <Floating T> Tensor<T> quick_gelu(const Tensor<T>& x) { return elementwise(x, functions::QuickGelu{}); }
template <Floating T> Tensor<T> pow(const Tensor<T>& x, double exponent) {
    return elementwise(x, functions::Pow{exponent});
}

} // namespace clipft::ops

// Operators live in clipft itself, beside Tensor, where argument-dependent lookup finds them. A
// scalar operand becomes a 0-d tensor on the tensor operand's device.
namespace clipft::inline CLIPFT_BACKENDS {

template <Floating T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return ops::add(a, b); }
template <Floating T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return ops::sub(a, b); }
template <Floating T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return ops::mul(a, b); }
template <Floating T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return ops::div(a, b); }
template <Floating T> Tensor<T> operator-(const Tensor<T>& a) { return ops::neg(a); }
template <Floating T> Tensor<T> operator+(const Tensor<T>& a, T s) {
    return ops::add(a, Tensor<T>::full({}, s, a.device()));
}
template <Floating T> Tensor<T> operator-(const Tensor<T>& a, T s) {
    return ops::sub(a, Tensor<T>::full({}, s, a.device()));
}
template <Floating T> Tensor<T> operator*(const Tensor<T>& a, T s) {
    return ops::mul(a, Tensor<T>::full({}, s, a.device()));
}
template <Floating T> Tensor<T> operator/(const Tensor<T>& a, T s) {
    return ops::div(a, Tensor<T>::full({}, s, a.device()));
}
template <Floating T> Tensor<T> operator+(T s, const Tensor<T>& a) {
    return ops::add(Tensor<T>::full({}, s, a.device()), a);
}
template <Floating T> Tensor<T> operator-(T s, const Tensor<T>& a) {
    return ops::sub(Tensor<T>::full({}, s, a.device()), a);
}
template <Floating T> Tensor<T> operator*(T s, const Tensor<T>& a) {
    return ops::mul(Tensor<T>::full({}, s, a.device()), a);
}
template <Floating T> Tensor<T> operator/(T s, const Tensor<T>& a) {
    return ops::div(Tensor<T>::full({}, s, a.device()), a);
}

} // namespace clipft
