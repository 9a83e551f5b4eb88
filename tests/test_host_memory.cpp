// Host memory of CPU tensors (backend/cpu/host_memory.hpp): freed blocks serve later tensors of the
// same size class without new system allocations, aligned for AVX-512; CLIPFT_CPU_CACHING is parsed.
#include "assertions.hpp"

#include <clipft/backend/cpu/host_memory.hpp>
#include <clipft/tensor.hpp>

#include <doctest/doctest.h>

#include <cstdint>

using namespace clipft;

TEST_CASE("CPU tensors reuse freed host memory of their size class") {
    if (!backend::cpu::host_caching_enabled()) {
        MESSAGE("skipped: CLIPFT_CPU_CACHING=0 (or a sanitizer build)");
        return;
    }
    backend::CachingAllocator& allocator = backend::cpu::host_allocator();
    {
        Tensor<float> activations = Tensor<float>::empty({400, 3072});
        CHECK(reinterpret_cast<std::uintptr_t>(activations.data()) % 64 == 0);
    }
    const std::size_t block = backend::CachingAllocator::size_class(400 * 3072 * sizeof(float));
    backend::AllocatorStatistics before = allocator.statistics();
    CHECK(before.cached >= block);
    // The same shape again, as in the next training step: a cached block, no new allocation.
    Tensor<float> again = Tensor<float>::empty({400, 3072});
    backend::AllocatorStatistics after = allocator.statistics();
    CHECK(after.raw_allocations == before.raw_allocations);
    CHECK(after.cached == before.cached - block);
    CHECK(after.allocated == before.allocated + block);
    CHECK(reinterpret_cast<std::uintptr_t>(again.data()) % 64 == 0);
    // Memory handed back to the system is allocated anew.
    backend::cpu::empty_host_cache();
    CHECK(allocator.statistics().cached == 0);
    Tensor<float> other = Tensor<float>::empty({400, 3072});
    CHECK(allocator.statistics().raw_allocations == after.raw_allocations + 1);
}
