#pragma once
// Device memory: one CachingAllocator per CUDA device over cudaMalloc/cudaFree (never managed
// memory), and byte copies between host and device on the current stream.
#include <clipft/backends.hpp>
#include <clipft/backend/caching_allocator.hpp>
#include <clipft/backend/cuda/stream.hpp>

#include <array>
#include <memory>
#include <mutex>
#include <sstream>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

inline CachingAllocator& device_allocator(int device) {
    constexpr int most_devices = 64;
    static std::array<std::unique_ptr<CachingAllocator>, most_devices> allocators;
    static std::mutex mutex;
    if (device < 0 || device >= most_devices) fail("device_allocator: CUDA device index ", device, " is out of range");
    std::lock_guard lock(mutex);
    auto& allocator = allocators[device];
    if (!allocator) {
        std::ostringstream name;
        name << Device::cuda(device);
        allocator = std::make_unique<CachingAllocator>(
            name.str(), CachingAllocator::RawMemory{
                            [device](std::size_t bytes) -> void* {
                                CLIPFT_CUDA_CHECK(cudaSetDevice(device));
                                void* block = nullptr;
                                cudaError_t status = cudaMalloc(&block, bytes);
                                if (status == cudaErrorMemoryAllocation) {
                                    cudaGetLastError(); // clear it: the allocator frees its cache and retries
                                    return nullptr;
                                }
                                check_cuda(status, "cudaMalloc");
                                return block;
                            },
                            [](void* block) { cudaFree(block); }});
    }
    return *allocator;
}

// `bytes` on `device`, owned by the returned handle: the last copy of it gives the block back to
// the device's cache, for reuse on the stream it was allocated on.
inline std::shared_ptr<void> allocate(std::size_t bytes, Device device) {
    use_device(device);
    CachingAllocator& allocator = device_allocator(device.index);
    void* block = allocator.allocate(bytes, current_stream());
    return std::shared_ptr<void>(block, [&allocator](void* pointer) { allocator.release(pointer); });
}

inline AllocatorStatistics memory_statistics(Device device) { return device_allocator(device.index).statistics(); }
inline void reset_peak_memory(Device device) { device_allocator(device.index).reset_peak(); }
// Gives the cached blocks of `device` back to the driver, e.g. before handing the GPU to another program.
inline void empty_cache(Device device) { device_allocator(device.index).empty_cache(); }

// Copies bytes between any two places (host or a CUDA device) on the current stream. Copies that
// land on the host wait for the stream, so the host may read the result at once. Copies from the
// host do not: cudaMemcpyAsync stages a pageable source before it returns, so the caller may free
// or overwrite it at once.
inline void copy_bytes(void* destination, Device destination_device, const void* source, Device source_device,
                       std::size_t bytes) {
    if (bytes == 0) return;
    cudaMemcpyKind kind = destination_device.is_cpu()
                              ? (source_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                              : (source_device.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
    use_device(destination_device.is_cuda() ? destination_device : source_device);
    if (kind == cudaMemcpyDeviceToDevice && destination_device != source_device)
        CLIPFT_CUDA_CHECK(cudaMemcpyPeerAsync(destination, destination_device.index, source, source_device.index, bytes,
                                              current_stream()));
    else
        CLIPFT_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, kind, current_stream()));
    if (destination_device.is_cpu()) synchronize();
}

} // namespace clipft::backend::cuda
