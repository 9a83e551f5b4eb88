// The caching allocator's bookkeeping with a fake raw allocator that records every call: size
// classes, reuse per stream, statistics, out-of-memory retry and empty_cache.
#include <clipft/backend/caching_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <vector>

using clipft::backend::CachingAllocator;

namespace {

// Hands out real heap memory (so pointers are distinct) and refuses once `limit` bytes are out.
struct FakeDevice {
    std::size_t limit = std::size_t(1) << 30;
    std::size_t outstanding = 0;
    std::vector<std::size_t> requests;
    std::vector<void*> released;
    std::map<void*, std::size_t> live;

    CachingAllocator::RawMemory raw() {
        return {[this](std::size_t bytes) -> void* {
                    requests.push_back(bytes);
                    if (outstanding + bytes > limit) return nullptr;
                    void* block = std::malloc(bytes);
                    live[block] = bytes;
                    outstanding += bytes;
                    return block;
                },
                [this](void* block) {
                    released.push_back(block);
                    outstanding -= live.at(block);
                    live.erase(block);
                    std::free(block);
                }};
    }
};

const void* stream_a = reinterpret_cast<const void*>(0x10);
const void* stream_b = reinterpret_cast<const void*>(0x20);

} // namespace

TEST_CASE("requests round up to 512 bytes below 1 MiB and to 2 MiB from there") {
    CHECK(CachingAllocator::size_class(1) == 512);
    CHECK(CachingAllocator::size_class(512) == 512);
    CHECK(CachingAllocator::size_class(513) == 1024);
    CHECK(CachingAllocator::size_class((1 << 20) - 1) == (1 << 20));
    CHECK(CachingAllocator::size_class(1 << 20) == (2 << 20));
    CHECK(CachingAllocator::size_class((2 << 20) + 1) == (4 << 20));
    CHECK(CachingAllocator::size_class(0) == 512);
}

TEST_CASE("a freed block is reused by the next request of its size class on its stream") {
    FakeDevice device;
    {
        CachingAllocator allocator("fake:0", device.raw());
        void* first = allocator.allocate(1000, stream_a);
        allocator.release(first);
        void* second = allocator.allocate(900, stream_a); // 1024 bytes again
        CHECK(second == first);
        CHECK(device.requests == std::vector<std::size_t>{1024});

        void* other_size = allocator.allocate(2000, stream_a);
        CHECK(other_size != first);
        CHECK(device.requests.size() == 2);
        allocator.release(second);
        allocator.release(other_size);
    }
    CHECK(device.live.empty()); // the destructor gave every cached block back
}

TEST_CASE("blocks freed on one stream are not handed to another") {
    FakeDevice device;
    CachingAllocator allocator("fake:0", device.raw());
    void* on_a = allocator.allocate(4096, stream_a);
    allocator.release(on_a);
    void* on_b = allocator.allocate(4096, stream_b);
    CHECK(on_b != on_a);
    CHECK(device.requests.size() == 2);
    void* again_on_a = allocator.allocate(4096, stream_a);
    CHECK(again_on_a == on_a);
    allocator.release(on_b);
    allocator.release(again_on_a);
}

TEST_CASE("statistics count bytes in use, the peak, and what is cached") {
    FakeDevice device;
    CachingAllocator allocator("fake:0", device.raw());
    void* a = allocator.allocate(3 << 20); // 4 MiB class
    void* b = allocator.allocate(100);     // 512 bytes
    auto stats = allocator.statistics();
    CHECK(stats.allocated == (4u << 20) + 512);
    CHECK(stats.peak_allocated == (4u << 20) + 512);
    CHECK(stats.cached == 0);
    CHECK(stats.reserved == (4u << 20) + 512);

    allocator.release(a);
    stats = allocator.statistics();
    CHECK(stats.allocated == 512);
    CHECK(stats.peak_allocated == (4u << 20) + 512);
    CHECK(stats.cached == (4u << 20));
    CHECK(stats.reserved == (4u << 20) + 512);

    allocator.reset_peak();
    CHECK(allocator.statistics().peak_allocated == 512);

    allocator.empty_cache();
    stats = allocator.statistics();
    CHECK(stats.cached == 0);
    CHECK(stats.reserved == 512);
    CHECK(device.released == std::vector<void*>{a});
    CHECK(stats.raw_allocations == 2);
    allocator.release(b);
}

TEST_CASE("when the device is full, cached blocks are released and the request retried") {
    FakeDevice device;
    device.limit = 6 << 20;
    CachingAllocator allocator("fake:0", device.raw());
    void* big = allocator.allocate(4 << 20, stream_a);
    allocator.release(big); // cached on stream A, 4 MiB of the 6 still taken
    void* other = allocator.allocate(4 << 20, stream_b);
    CHECK(other != nullptr);
    CHECK(device.released == std::vector<void*>{big});
    CHECK(allocator.statistics().cached == 0);
    CHECK(allocator.statistics().allocated == (4u << 20));
    allocator.release(other);
}

TEST_CASE("running out of memory names the device and the bytes in use") {
    FakeDevice device;
    device.limit = 1 << 20;
    CachingAllocator allocator("fake:3", device.raw());
    void* held = allocator.allocate(600 << 10);
    try {
        allocator.allocate(600 << 10);
        FAIL("the allocation should have failed");
    } catch (const clipft::Error& error) {
        std::string message = error.what();
        CHECK(message.find("fake:3") != std::string::npos);
        CHECK(message.find("614400 bytes in use") != std::string::npos);
    }
    allocator.release(held);
}

TEST_CASE("releasing a pointer twice or one never allocated is an error") {
    FakeDevice device;
    CachingAllocator allocator("fake:0", device.raw());
    void* block = allocator.allocate(64);
    allocator.release(block);
    CHECK_THROWS_AS(allocator.release(block), clipft::Error);
    int local = 0;
    CHECK_THROWS_AS(allocator.release(&local), clipft::Error);
    allocator.release(nullptr); // like free(nullptr): nothing to do
}
