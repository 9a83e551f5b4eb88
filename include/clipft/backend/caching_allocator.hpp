#pragma once
// CachingAllocator: keeps freed device blocks for reuse instead of returning them to the driver,
// because cudaMalloc/cudaFree synchronise the device and cost far more than a training step's
// kernels. Requests are rounded up to size classes so that the same tensor shapes, recurring every
// step, reuse the same blocks exactly. A freed block is reused only by requests on the stream it
// was freed on: work queued on that stream still using it runs before any new use.
//
// The raw allocate/release functions are injected, so the bookkeeping is independent of CUDA (and
// tested on the CPU); the CUDA backend passes cudaMalloc and cudaFree.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace clipft::inline CLIPFT_BACKENDS::backend {

struct AllocatorStatistics {
    std::size_t allocated = 0;       // bytes of blocks handed out and not yet freed
    std::size_t peak_allocated = 0;  // the most `allocated` has been since the last reset_peak()
    std::size_t cached = 0;          // bytes of freed blocks kept for reuse
    std::size_t reserved = 0;        // allocated + cached: what the driver has given
    std::size_t raw_allocations = 0; // calls to the raw allocate function that succeeded
};

class CachingAllocator {
public:
    // allocate(bytes) returns nullptr when the memory is exhausted (other failures throw);
    // release(pointer) gives a block back to the driver.
    struct RawMemory {
        std::function<void*(std::size_t)> allocate;
        std::function<void(void*)> release;
    };
    using Stream = const void*; // an opaque stream handle (cudaStream_t); nullptr: the default stream

    static constexpr std::size_t small_granularity = 512;
    static constexpr std::size_t large_threshold = std::size_t(1) << 20;
    static constexpr std::size_t large_granularity = std::size_t(2) << 20;

    CachingAllocator(std::string device_name, RawMemory raw)
        : device_name_(std::move(device_name)), raw_(std::move(raw)) {
        if (!raw_.allocate || !raw_.release)
            fail("CachingAllocator for ", device_name_, ": allocate and release must both be set");
    }
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;
    ~CachingAllocator() {
        std::lock_guard lock(mutex_);
        release_cached_locked();
    }

    // Small requests round up to 512 bytes, large ones (1 MiB and more) to 2 MiB, as PyTorch's
    // allocator does: at most 2 MiB wasted per block against fewer distinct block sizes.
    static std::size_t size_class(std::size_t bytes) {
        std::size_t granularity = bytes < large_threshold ? small_granularity : large_granularity;
        return std::max(granularity, (bytes + granularity - 1) / granularity * granularity);
    }

    void* allocate(std::size_t bytes, Stream stream = nullptr) {
        std::size_t size = size_class(bytes);
        std::lock_guard lock(mutex_);
        auto& free_blocks = cache_[stream];
        void* block = nullptr;
        if (auto found = free_blocks.find(size); found != free_blocks.end()) {
            block = found->second;
            free_blocks.erase(found);
            statistics_.cached -= size;
        } else {
            block = raw_.allocate(size);
            if (!block) { // out of memory: what is cached on any stream may make room
                release_cached_locked();
                block = raw_.allocate(size);
            }
            if (!block)
                fail("out of memory on ", device_name_, " allocating ", bytes, " bytes (", statistics_.allocated,
                     " bytes in use by tensors, peak ", statistics_.peak_allocated,
                     "); use a smaller batch, bf16 autocast, or free tensors before this point");
            ++statistics_.raw_allocations;
            statistics_.reserved += size;
        }
        in_use_[block] = {size, stream};
        statistics_.allocated += size;
        statistics_.peak_allocated = std::max(statistics_.peak_allocated, statistics_.allocated);
        return block;
    }

    // Returns a block to the cache of the stream it was allocated on.
    void release(void* block) {
        if (!block) return;
        std::lock_guard lock(mutex_);
        auto found = in_use_.find(block);
        if (found == in_use_.end())
            fail("CachingAllocator for ", device_name_, ": releasing a block it did not hand out (or released twice)");
        auto [size, stream] = found->second;
        in_use_.erase(found);
        statistics_.allocated -= size;
        statistics_.cached += size;
        cache_[stream].emplace(size, block);
    }

    // Gives every cached block back to the driver (blocks in use stay).
    void empty_cache() {
        std::lock_guard lock(mutex_);
        release_cached_locked();
    }

    AllocatorStatistics statistics() const {
        std::lock_guard lock(mutex_);
        return statistics_;
    }
    void reset_peak() {
        std::lock_guard lock(mutex_);
        statistics_.peak_allocated = statistics_.allocated;
    }

private:
    struct BlockInUse {
        std::size_t size;
        Stream stream;
    };

    void release_cached_locked() {
        for (auto& [stream, blocks] : cache_)
            for (auto& [size, block] : blocks) {
                raw_.release(block);
                statistics_.reserved -= size;
            }
        cache_.clear();
        statistics_.cached = 0;
    }

    std::string device_name_;
    RawMemory raw_;
    mutable std::mutex mutex_;
    std::unordered_map<Stream, std::multimap<std::size_t, void*>> cache_;
    std::unordered_map<void*, BlockInUse> in_use_;
    AllocatorStatistics statistics_;
};

} // namespace clipft::backend
