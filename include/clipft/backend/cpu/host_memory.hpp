#pragma once
// Host memory of CPU tensors: one CachingAllocator (backend/caching_allocator.hpp, the CUDA
// backend's) over aligned_alloc/free. A training step allocates the same tensor shapes every step,
// so after the first the freed blocks serve the next step's requests, and the pages stay mapped:
// without it the large blocks go back to the system (glibc returns its mmapped chunks and trims its
// heap) and every step pays page faults to map and zero them again. CLIPFT_CPU_CACHING=0 turns the
// cache off, e.g. to measure it or to leave memory to other programs between steps.
#include <clipft/backends.hpp>
#include <clipft/backend/caching_allocator.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace clipft::inline CLIPFT_BACKENDS::backend::cpu {

// The tensors' alignment: a cache line, and an AVX-512 vector.
constexpr std::size_t host_alignment = 64;

inline void* aligned_host_block(std::size_t bytes) {
    bytes = std::max(host_alignment, (bytes + host_alignment - 1) / host_alignment * host_alignment);
    return std::aligned_alloc(host_alignment, bytes);
}

// Never destroyed: tensors that outlive main's locals (statics) still give their blocks back to it.
inline CachingAllocator& host_allocator() {
    static CachingAllocator* allocator =
        new CachingAllocator("the CPU", {[](std::size_t bytes) { return aligned_host_block(bytes); },
                                         [](void* block) { std::free(block); }});
    return *allocator;
}

// Off by default under AddressSanitizer, which finds uses of freed tensor memory only where it is
// really freed.
inline bool host_caching_enabled() {
    static const bool enabled = [] {
        const char* setting = std::getenv("CLIPFT_CPU_CACHING");
#ifdef __SANITIZE_ADDRESS__
        if (!setting) return false;
#endif
        if (!setting || !std::strcmp(setting, "1") || !std::strcmp(setting, "on")) return true;
        if (!std::strcmp(setting, "0") || !std::strcmp(setting, "off")) return false;
        fail("CLIPFT_CPU_CACHING='", setting,
             "' is not a setting: use 1 (cache freed tensor memory, the default) or 0");
    }();
    return enabled;
}

// `bytes` of 64-byte aligned host memory, owned by the returned handle (the last copy gives it back).
inline std::shared_ptr<void> allocate_host(std::size_t bytes) {
    if (host_caching_enabled()) {
        CachingAllocator& allocator = host_allocator();
        return std::shared_ptr<void>(allocator.allocate(bytes),
                                     [&allocator](void* block) { allocator.release(block); });
    }
    void* memory = aligned_host_block(bytes);
    if (!memory) fail("out of memory allocating ", bytes, " bytes for a tensor");
    return std::shared_ptr<void>(memory, std::free);
}

// Gives the cached blocks back to the system (blocks in use stay).
inline void empty_host_cache() { host_allocator().empty_cache(); }

} // namespace clipft::backend::cpu
