#pragma once
// Printing tensors: std::cout << t gives
//   tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=[2, 2], dtype=float32, device=cpu, requires_grad)
// on one line. An axis longer than 2 * edge_items shows its first and last edge_items entries
// around "...". Floating values print with `precision` decimals, or in scientific notation when
// the tensor holds magnitudes >= 1e8 or nonzero magnitudes < 1e-4. Numbers are formatted with
// std::to_chars, so the output ignores the locale and the stream's own flags.
#include <clipft/backends.hpp>
#include <clipft/tensor.hpp>

#include <charconv>
#include <cmath>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

namespace clipft::inline CLIPFT_BACKENDS {

struct PrintOptions {
    int precision = 4;
    std::int64_t edge_items = 3;
    bool summarize = true; // false: print every element
};

namespace detail {

template <typename T> class TensorPrinter {
public:
    TensorPrinter(const Tensor<T>& tensor, const PrintOptions& options) : tensor_(tensor), options_(options) {}

    void print(std::ostream& out) {
        if constexpr (!std::is_integral_v<T>) scientific_ = needs_scientific(0, 0);
        print_axis(out, 0, 0);
    }

private:
    bool elided(std::int64_t axis, std::int64_t index) const {
        std::int64_t extent = tensor_.shape()[axis];
        return options_.summarize && extent > 2 * options_.edge_items && index >= options_.edge_items &&
               index < extent - options_.edge_items;
    }

    // Calls visit(offset) for the shown elements of `axis` onwards, starting at element `offset`.
    template <typename Visit> void for_each_shown(std::int64_t axis, std::int64_t offset, Visit&& visit) const {
        if (axis == tensor_.dim()) return visit(offset);
        for (std::int64_t i = 0; i < tensor_.shape()[axis]; ++i)
            if (!elided(axis, i)) for_each_shown(axis + 1, offset + i * tensor_.strides()[axis], visit);
    }

    bool needs_scientific(std::int64_t axis, std::int64_t offset) const {
        bool scientific = false;
        for_each_shown(axis, offset, [&](std::int64_t at) {
            double magnitude = std::abs(convert_scalar<double>(tensor_.data()[at]));
            if (std::isfinite(magnitude) && (magnitude >= 1e8 || (magnitude > 0 && magnitude < 1e-4)))
                scientific = true;
        });
        return scientific;
    }

    void print_value(std::ostream& out, T value) const {
        char buffer[64];
        std::to_chars_result written;
        if constexpr (std::is_integral_v<T>) {
            written = std::to_chars(buffer, buffer + sizeof buffer, std::int64_t(value));
        } else {
            double number = convert_scalar<double>(value);
            if (std::isnan(number)) return void(out << "nan");
            if (std::isinf(number)) return void(out << (number < 0 ? "-inf" : "inf"));
            written = std::to_chars(buffer, buffer + sizeof buffer, number,
                                    scientific_ ? std::chars_format::scientific : std::chars_format::fixed,
                                    options_.precision);
        }
        out.write(buffer, written.ptr - buffer);
    }

    void print_axis(std::ostream& out, std::int64_t axis, std::int64_t offset) const {
        if (axis == tensor_.dim()) return print_value(out, tensor_.data()[offset]);
        out << '[';
        std::int64_t extent = tensor_.shape()[axis];
        for (std::int64_t i = 0; i < extent; ++i) {
            if (elided(axis, i)) {
                out << (i ? ", ..." : "...");
                i = extent - options_.edge_items - 1;
                continue;
            }
            if (i) out << ", ";
            print_axis(out, axis + 1, offset + i * tensor_.strides()[axis]);
        }
        out << ']';
    }

    const Tensor<T>& tensor_;
    PrintOptions options_;
    bool scientific_ = false;
};

} // namespace detail

template <typename T> std::string to_string(const Tensor<T>& tensor, const PrintOptions& options = {}) {
    std::ostringstream out;
    if (!tensor.defined()) {
        out << "tensor(undefined)";
        return out.str();
    }
    out << "tensor(";
    detail::TensorPrinter<T>(tensor, options).print(out);
    out << ", shape=" << tensor.shape() << ", dtype=" << type_name<T>() << ", device=" << tensor.device();
    if (tensor.requires_grad()) out << ", requires_grad";
    if (tensor.grad_fn()) out << ", grad_fn=" << tensor.grad_fn()->op;
    out << ')';
    return out.str();
}

template <typename T> std::ostream& operator<<(std::ostream& out, const Tensor<T>& tensor) {
    return out << to_string(tensor);
}

} // namespace clipft
