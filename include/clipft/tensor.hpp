#pragma once
// Tensor<T>: an N-d view (shape, strides, offset) on reference-counted storage, plus the autograd
// state of that view. Copies of a Tensor are handles to the same tensor; views share storage.
#include <clipft/backends.hpp>
#include <clipft/autograd.hpp>
#include <clipft/backend/cpu/host_memory.hpp>
#include <clipft/backend/cpu/strided.hpp>
#include <clipft/backend/cuda.hpp>
#include <clipft/device.hpp>
#include <clipft/error.hpp>
#include <clipft/scalar_types.hpp>
#include <clipft/shape.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS {

template <Storable T> struct Storage {
    T* data = nullptr;
    std::int64_t size = 0;
    Device device;
    std::shared_ptr<void> owner; // keeps the memory alive: an allocation, a mapped file, ...
};

template <Storable T> Storage<T> allocate_storage(std::int64_t size, Device device) {
    std::size_t bytes = std::size_t(size) * sizeof(T);
    std::shared_ptr<void> owner =
        device.is_cuda() ? backend::cuda::allocate(bytes, device) : backend::cpu::allocate_host(bytes);
    return {static_cast<T*>(owner.get()), size, device, std::move(owner)};
}

template <typename T> struct TensorImpl {
    Storage<T> storage;
    Shape shape, strides;
    std::int64_t offset = 0;
    bool requires_grad = false;
    std::shared_ptr<TensorImpl> grad;
    std::shared_ptr<Node<T>> grad_fn;
};

template <typename T> class Tensor {
    static_assert(Storable<T>, "Tensor<T>: T must be float, double, Half, BFloat16 or an integer type");

public:
    using value_type = T;

    Tensor() = default; // an undefined tensor: "no value", e.g. a gradient not computed
    explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

    // ---- creation --------------------------------------------------------------------------
    static Tensor empty(const Shape& shape, Device device = Device::cpu()) {
        check_shape("Tensor::empty", shape);
        auto impl = std::make_shared<TensorImpl<T>>();
        impl->storage = allocate_storage<T>(element_count(shape), device);
        impl->shape = shape;
        impl->strides = contiguous_strides(shape);
        return Tensor(std::move(impl));
    }
    static Tensor full(const Shape& shape, T value, Device device = Device::cpu()) {
        Tensor result = empty(shape, device);
        if (device.is_cpu())
            std::fill_n(result.data(), result.numel(), value);
        else
            result.fill_(value);
        return result;
    }
    static Tensor zeros(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(0.0f), device); }
    static Tensor ones(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(1.0f), device); }
    static Tensor scalar(T value) { return full({}, value); }
    // Copies values into a new tensor of `shape` (without one: a single axis holding all of them).
    static Tensor from_vector(const std::vector<T>& values) {
        return from_vector(values, {std::int64_t(values.size())});
    }
    static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
        check_shape("Tensor::from_vector", shape);
        if (element_count(shape) != std::int64_t(values.size()))
            fail("Tensor::from_vector: ", values.size(), " values do not fill shape ", shape);
        Tensor result = empty(shape);
        std::copy(values.begin(), values.end(), result.data());
        return result;
    }
    // Wraps memory owned elsewhere (e.g. a memory-mapped checkpoint) without copying.
    static Tensor from_blob(T* data, const Shape& shape, std::shared_ptr<void> owner, Device device = Device::cpu()) {
        auto impl = std::make_shared<TensorImpl<T>>();
        impl->storage = {data, element_count(shape), device, std::move(owner)};
        impl->shape = shape;
        impl->strides = contiguous_strides(shape);
        return Tensor(std::move(impl));
    }
    static Tensor arange(std::int64_t count) {
        Tensor result = empty({count});
        for (std::int64_t i = 0; i < count; ++i) result.data()[i] = convert_scalar<T>(i);
        return result;
    }

    // ---- metadata ------------------------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return checked().shape; }
    const Shape& strides() const { return checked().strides; }
    std::int64_t offset() const { return checked().offset; }
    std::int64_t dim() const { return std::int64_t(shape().size()); }
    std::int64_t size(std::int64_t axis) const { return shape()[normalize_axis("Tensor::size", axis, dim())]; }
    std::int64_t numel() const { return element_count(shape()); }
    Device device() const { return checked().storage.device; }
    // First element of this view. Handles are shallow, so const handles still give write access.
    T* data() const { return checked().storage.data + checked().offset; }
    const std::shared_ptr<TensorImpl<T>>& impl() const { return impl_; }
    bool shares_storage_with(const Tensor& other) const {
        return checked().storage.owner == other.checked().storage.owner;
    }

    bool is_contiguous() const {
        std::int64_t expected = 1;
        for (std::int64_t axis = dim() - 1; axis >= 0; --axis) {
            if (shape()[axis] != 1 && strides()[axis] != expected) return false;
            expected *= shape()[axis];
        }
        return true;
    }

    // ---- element access ------------------------------------------------------------------
    // On a CUDA device, item, at and to_vector copy to the host first (and wait for the device).
    T item() const {
        if (!device().is_cpu()) return to(Device::cpu()).item();
        if (numel() != 1) fail("Tensor::item: tensor of shape ", shape(), " has ", numel(), " elements, not 1");
        return *data();
    }
    T at(const std::vector<std::int64_t>& index) const {
        if (!device().is_cpu()) return to(Device::cpu()).at(index);
        if (std::int64_t(index.size()) != dim())
            fail("Tensor::at: ", index.size(), " indices for a tensor of shape ", shape());
        std::int64_t position = 0;
        for (std::int64_t axis = 0; axis < dim(); ++axis) {
            std::int64_t i = index[axis];
            if (i < 0 || i >= shape()[axis])
                fail("Tensor::at: index ", i, " out of range for axis ", axis, " of shape ", shape());
            position += i * strides()[axis];
        }
        return data()[position];
    }
    std::vector<T> to_vector() const {
        Tensor dense = device().is_cpu() ? contiguous() : to(Device::cpu());
        return std::vector<T>(dense.data(), dense.data() + dense.numel());
    }

    // ---- copies and conversions ------------------------------------------------------------
    Tensor contiguous() const;
    Tensor clone() const;
    // Element-type conversion (float32 <-> float16/bfloat16/float64, ...). The result is a new
    // leaf: gradients do not flow across element types.
    template <Storable U> Tensor<U> to() const {
        Tensor<U> result = Tensor<U>::empty(shape(), device());
        copy_values(result, *this);
        return result;
    }
    // The same values on `device` (this tensor itself when it is there already), as a contiguous
    // tensor. Recorded: gradients flow back to the source device.
    Tensor to(Device device) const;
    // Moves this leaf's storage, and its gradient, to `device` in place, so that every handle of it
    // (a module's member and its parameter registry alike) sees the move: how Module::to works.
    void move_to_(Device device);

    // ---- views (share storage; gradients flow back through them) ---------------------------
    Tensor reshape(Shape shape) const;
    Tensor permute(const std::vector<std::int64_t>& order) const;
    Tensor transpose(std::int64_t axis0, std::int64_t axis1) const;
    Tensor narrow(std::int64_t axis, std::int64_t start, std::int64_t length) const;
    Tensor slice(std::int64_t axis, std::int64_t begin, std::int64_t end) const {
        return narrow(axis, begin, end - begin);
    }
    Tensor select(std::int64_t axis, std::int64_t index) const;
    Tensor expand(const Shape& shape) const;
    Tensor unsqueeze(std::int64_t axis) const;
    Tensor squeeze(std::int64_t axis) const;
    Tensor flatten(std::int64_t start_axis = 0, std::int64_t end_axis = -1) const;

    // ---- autograd ---------------------------------------------------------------------------
    bool requires_grad() const { return checked().requires_grad; }
    Tensor& requires_grad_(bool enabled = true) {
        if (!is_leaf())
            fail("requires_grad_: the tensor of shape ", shape(), " is the result of '", grad_fn()->op,
                 "'; only leaf tensors can change requires_grad (use detach() first)");
        impl_->requires_grad = enabled;
        return *this;
    }
    bool is_leaf() const { return checked().grad_fn == nullptr; }
    const std::shared_ptr<Node<T>>& grad_fn() const { return checked().grad_fn; }
    Tensor grad() const { return Tensor(checked().grad); }
    void zero_grad() { checked().grad.reset(); }
    // Same storage, cut from the graph.
    Tensor detach() const {
        auto impl = std::make_shared<TensorImpl<T>>();
        impl->storage = checked().storage;
        impl->shape = shape();
        impl->strides = strides();
        impl->offset = offset();
        return Tensor(std::move(impl));
    }
    // Back-propagates from this tensor; without `grad` the tensor must hold one element.
    void backward(const Tensor& grad = {}, bool retain_graph = false) const {
        if (grad.defined()) return run_backward(*this, grad, retain_graph);
        if (numel() != 1)
            fail("backward: the tensor of shape ", shape(), " is not a scalar; pass the gradient of the output");
        run_backward(*this, Tensor::ones(shape(), device()), retain_graph);
    }

    // Used by the autograd engine and by ops.
    void attach_grad_fn(std::shared_ptr<Node<T>> node) {
        impl_->grad_fn = std::move(node);
        impl_->requires_grad = true;
    }
    void accumulate_grad(const Tensor& gradient) const {
        auto& slot = checked().grad;
        if (slot) {
            slot = ops::add(Tensor(slot), gradient).impl_;
            return;
        }
        // In-place updates of .grad (clipping, scaling) must never write into a tensor that someone
        // else holds: the first gradient is taken over only when nothing else refers to it or to
        // its storage, and copied otherwise.
        bool sole_owner = gradient.impl_.use_count() == 1 && gradient.impl_->storage.owner.use_count() == 1 &&
                          gradient.is_contiguous();
        slot = sole_owner ? gradient.impl_ : gradient.clone().impl_;
    }

    // ---- in-place writes, for optimizers and initialisers (never on recorded tensors) --------
    Tensor& fill_(T value) {
        check_writable("fill_");
        if (device().is_cuda()) {
            backend::cuda::use_device(device());
            backend::cuda::fill(data(), strides(), shape(), value);
            return *this;
        }
        backend::cpu::for_each_row<1>(shape(), {&strides()}, [&](auto offsets, std::int64_t length, auto step) {
            for (std::int64_t i = 0; i < length; ++i) data()[offsets[0] + i * step[0]] = value;
        });
        return *this;
    }
    Tensor& copy_(const Tensor& source) {
        check_writable("copy_");
        if (source.shape() != shape())
            fail("copy_: source of shape ", source.shape(), " does not match destination of shape ", shape());
        copy_values(*this, source.device() == device() ? source : source.to(device()));
        return *this;
    }

    // destination = source element by element (converted), both on one device, any strides.
    template <Storable To, Storable From>
    static void copy_values(const Tensor<To>& destination, const Tensor<From>& source) {
        if (destination.device().is_cpu()) {
            backend::cpu::strided_copy(destination.data(), destination.strides(), source.data(), source.strides(),
                                       source.shape(), [](From value) { return convert_scalar<To>(value); });
            return;
        }
        backend::cuda::use_device(destination.device());
        backend::cuda::strided_copy(destination.data(), destination.strides(), source.data(), source.strides(),
                                    source.shape());
    }

private:
    TensorImpl<T>& checked() const {
        if (!impl_) fail("use of an undefined tensor (a default-constructed Tensor or a gradient never computed)");
        return *impl_;
    }
    void check_writable(const char* op) const {
        if (GradMode::is_enabled() && requires_grad())
            fail(op, ": in-place write to a tensor of shape ", shape(),
                 " that requires gradients; do it inside a NoGradGuard scope");
    }
    // A view on this tensor's storage, recorded with a backward that maps gradients back.
    Tensor make_view(const char* op, Shape shape, Shape strides, std::int64_t offset,
                     typename Node<T>::Backward backward) const {
        auto impl = std::make_shared<TensorImpl<T>>();
        impl->storage = checked().storage;
        impl->shape = std::move(shape);
        impl->strides = std::move(strides);
        impl->offset = offset;
        Tensor view(std::move(impl));
        if constexpr (Floating<T>) record(op, view, {*this}, std::move(backward));
        return view;
    }

    std::shared_ptr<TensorImpl<T>> impl_;
};

template <typename T> Tensor<T> Tensor<T>::contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
}

template <typename T> Tensor<T> Tensor<T>::clone() const {
    Tensor result = empty(shape(), device());
    copy_values(result, *this);
    if constexpr (Floating<T>)
        record("clone", result, {*this}, [](const Tensor& grad) { return std::vector<Tensor>{grad}; });
    return result;
}

template <typename T> Tensor<T> Tensor<T>::to(Device target) const {
    if (target == device()) return *this;
    Tensor source = contiguous().detach();
    Tensor result = empty(shape(), target);
    backend::cuda::copy_bytes(result.data(), target, source.data(), device(), std::size_t(numel()) * sizeof(T));
    if constexpr (Floating<T>)
        record("to", result, {*this},
               [source_device = device()](const Tensor& grad) { return std::vector<Tensor>{grad.to(source_device)}; });
    return result;
}

template <typename T> void Tensor<T>::move_to_(Device target) {
    if (!is_leaf())
        fail("move_to_: the tensor of shape ", shape(), " is the result of '", grad_fn()->op,
             "'; only leaves (parameters, buffers) move in place; use to(device) for the others");
    if (target == device()) return;
    Tensor moved = detach().to(target);
    impl_->storage = moved.impl_->storage;
    impl_->strides = moved.impl_->strides;
    impl_->offset = 0;
    if (impl_->grad) impl_->grad = Tensor(impl_->grad).detach().to(target).impl_;
}

template <typename T> Tensor<T> Tensor<T>::reshape(Shape new_shape) const {
    std::int64_t inferred = -1, known = 1;
    for (std::size_t i = 0; i < new_shape.size(); ++i) {
        if (new_shape[i] == -1) {
            if (inferred >= 0) fail("reshape: more than one -1 in shape ", new_shape);
            inferred = std::int64_t(i);
        } else {
            if (new_shape[i] < 0) fail("reshape: negative extent in shape ", new_shape);
            known *= new_shape[i];
        }
    }
    if (inferred >= 0 && known != 0) new_shape[inferred] = numel() / known;
    if (element_count(new_shape) != numel())
        fail("reshape: cannot view a tensor of shape ", shape(), " (", numel(), " elements) as shape ", new_shape);
    Tensor source = contiguous();
    Shape old_shape = shape();
    return source.make_view("reshape", new_shape, contiguous_strides(new_shape), source.offset(),
                            [old_shape](const Tensor& grad) { return std::vector<Tensor>{grad.reshape(old_shape)}; });
}

template <typename T> Tensor<T> Tensor<T>::permute(const std::vector<std::int64_t>& order) const {
    if (std::int64_t(order.size()) != dim())
        fail("permute: order of ", order.size(), " axes for a tensor of shape ", shape());
    Shape new_shape(order.size()), new_strides(order.size());
    std::vector<std::int64_t> inverse(order.size(), -1);
    for (std::size_t i = 0; i < order.size(); ++i) {
        std::int64_t axis = normalize_axis("permute", order[i], dim());
        if (inverse[axis] != -1) fail("permute: axis ", axis, " appears twice in the order for shape ", shape());
        inverse[axis] = std::int64_t(i);
        new_shape[i] = shape()[axis];
        new_strides[i] = strides()[axis];
    }
    return make_view("permute", new_shape, new_strides, offset(),
                     [inverse](const Tensor& grad) { return std::vector<Tensor>{grad.permute(inverse)}; });
}

template <typename T> Tensor<T> Tensor<T>::transpose(std::int64_t axis0, std::int64_t axis1) const {
    std::vector<std::int64_t> order(dim());
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[normalize_axis("transpose", axis0, dim())], order[normalize_axis("transpose", axis1, dim())]);
    return permute(order);
}

template <typename T> Tensor<T> Tensor<T>::narrow(std::int64_t axis, std::int64_t start, std::int64_t length) const {
    axis = normalize_axis("narrow", axis, dim());
    if (start < 0 || length < 0 || start + length > shape()[axis])
        fail("narrow: range [", start, ", ", start + length, ") is outside axis ", axis, " of shape ", shape());
    Shape new_shape = shape();
    new_shape[axis] = length;
    Shape input_shape = shape();
    return make_view("narrow", new_shape, strides(), offset() + start * strides()[axis],
                     [input_shape, axis, start, length](const Tensor& grad) {
                         Tensor full = zeros(input_shape, grad.device());
                         full.narrow(axis, start, length).copy_(grad);
                         return std::vector<Tensor>{full};
                     });
}

template <typename T> Tensor<T> Tensor<T>::select(std::int64_t axis, std::int64_t index) const {
    axis = normalize_axis("select", axis, dim());
    if (index < -shape()[axis] || index >= shape()[axis])
        fail("select: index ", index, " is out of range for axis ", axis, " of shape ", shape());
    if (index < 0) index += shape()[axis];
    Shape new_shape = shape(), new_strides = strides();
    new_shape.erase(new_shape.begin() + axis);
    new_strides.erase(new_strides.begin() + axis);
    Shape input_shape = shape();
    return make_view("select", new_shape, new_strides, offset() + index * strides()[axis],
                     [input_shape, axis, index](const Tensor& grad) {
                         Tensor full = zeros(input_shape, grad.device());
                         full.select(axis, index).copy_(grad);
                         return std::vector<Tensor>{full};
                     });
}

namespace ops {
template <Floating T> Tensor<T> sum_to_shape(const Tensor<T>& x, const Shape& shape);
}

template <typename T> Tensor<T> Tensor<T>::expand(const Shape& target) const {
    if (target.size() < shape().size()) fail("expand: cannot expand shape ", shape(), " to fewer axes ", target);
    std::size_t lead = target.size() - shape().size();
    Shape new_strides(target.size(), 0);
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (i < lead) continue;
        std::int64_t extent = shape()[i - lead];
        if (extent == target[i])
            new_strides[i] = strides()[i - lead];
        else if (extent != 1)
            fail("expand: cannot expand shape ", shape(), " to ", target, " (axis ", i, ")");
    }
    Shape input_shape = shape();
    return make_view("expand", target, new_strides, offset(), [input_shape](const Tensor& grad) {
        return std::vector<Tensor>{ops::sum_to_shape(grad, input_shape)};
    });
}

template <typename T> Tensor<T> Tensor<T>::unsqueeze(std::int64_t axis) const {
    axis = normalize_axis("unsqueeze", axis, dim() + 1);
    Shape new_shape = shape();
    new_shape.insert(new_shape.begin() + axis, 1);
    return reshape(new_shape);
}

template <typename T> Tensor<T> Tensor<T>::squeeze(std::int64_t axis) const {
    axis = normalize_axis("squeeze", axis, dim());
    if (shape()[axis] != 1) fail("squeeze: axis ", axis, " of shape ", shape(), " is not 1");
    Shape new_shape = shape();
    new_shape.erase(new_shape.begin() + axis);
    return reshape(new_shape);
}

template <typename T> Tensor<T> Tensor<T>::flatten(std::int64_t start_axis, std::int64_t end_axis) const {
    if (dim() == 0) return reshape({1});
    start_axis = normalize_axis("flatten", start_axis, dim());
    end_axis = normalize_axis("flatten", end_axis, dim());
    Shape new_shape(shape().begin(), shape().begin() + start_axis);
    std::int64_t merged = 1;
    for (std::int64_t axis = start_axis; axis <= end_axis; ++axis) merged *= shape()[axis];
    new_shape.push_back(merged);
    new_shape.insert(new_shape.end(), shape().begin() + end_axis + 1, shape().end());
    return reshape(new_shape);
}

} // namespace clipft

// The ops that autograd calls back (accumulating gradients, reducing broadcast ones), declared
// above and defined there: including them here lets a program that includes only this header link.
#include <clipft/ops/elementwise.hpp>
