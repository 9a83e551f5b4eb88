#pragma once
// Where a tensor's storage lives. Every op dispatches on this tag; the CPU backend is always built,
// the CUDA backend only when the library is compiled with CLIPFT_WITH_CUDA.
#include <clipft/backends.hpp>

#include <ostream>
#include <string>
#include <utility>

namespace clipft::inline CLIPFT_BACKENDS {

struct Device {
    enum class Kind { cpu, cuda };
    Kind kind = Kind::cpu;
    int index = 0;

    static constexpr Device cpu() { return {Kind::cpu, 0}; }
    static constexpr Device cuda(int index = 0) { return {Kind::cuda, index}; }
    // "cpu", "cuda" (device 0) or "cuda:N", as PyTorch writes them.
    static Device parse(const std::string& text) {
        if (text == "cpu") return cpu();
        if (text == "cuda") return cuda(0);
        if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() <= 8 &&
            text.find_first_not_of("0123456789", 5) == std::string::npos)
            return cuda(std::stoi(text.substr(5)));
        fail("unknown device '", text, "'; use cpu, cuda or cuda:N (N the GPU's index)");
    }

    constexpr bool is_cpu() const { return kind == Kind::cpu; }
    constexpr bool is_cuda() const { return kind == Kind::cuda; }
    friend constexpr bool operator==(Device, Device) = default;
};

inline std::ostream& operator<<(std::ostream& out, Device device) {
    if (device.is_cpu()) return out << "cpu";
    return out << "cuda:" << device.index;
}

// The one error of a CUDA tensor reaching code compiled without the CUDA backend (a .cpp file, or
// a build without CUDA): says what to do. backend/cuda/unavailable.hpp raises it.
template <typename... Parts> [[noreturn]] void fail_without_cuda_backend(Parts&&... what) {
    fail(std::forward<Parts>(what)...,
         ": this translation unit has no CUDA backend; compile it with nvcc in a build of "
         "clipft that found CUDA (CLIPFT_WITH_CUDA)");
}

} // namespace clipft
