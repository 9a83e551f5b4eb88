#pragma once
// One kernel launch that updates many tensors (an optimizer step over every parameter of a model):
// each tensor is cut into chunks, blocks take chunks, and each tensor brings its own update functor
// (its own step count and weight decay). One launch instead of one per parameter keeps the few
// hundred small tensors of a transformer from being bound by launch latency.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/memory.hpp>
#include <clipft/backend/cuda/launch.cuh>
#include <clipft/backend/cuda/operands.hpp>

#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

struct MultiTensorChunk {
    int tensor;
    std::int64_t begin, end;
};

template <typename T, typename Update>
__global__ void multi_tensor_kernel(const MultiTensorSlot<T, Update>* slots, const MultiTensorChunk* chunks,
                                    std::int64_t chunk_count) {
    using A = Accumulator<T>;
    for (std::int64_t c = blockIdx.x; c < chunk_count; c += gridDim.x) {
        MultiTensorChunk chunk = chunks[c];
        const MultiTensorSlot<T, Update>& slot = slots[chunk.tensor];
        for (std::int64_t i = chunk.begin + threadIdx.x; i < chunk.end; i += blockDim.x) {
            A p = convert<A>(slot.parameter[i]), m = convert<A>(slot.first_moment[i]),
              v = convert<A>(slot.second_moment[i]);
            slot.update(p, m, v, convert<A>(slot.gradient[i]));
            slot.parameter[i] = convert<T>(p);
            slot.first_moment[i] = convert<T>(m);
            slot.second_moment[i] = convert<T>(v);
        }
    }
}

// Applies every slot's update to every element of its tensors, all on `device`, in one launch.
template <typename T, typename Update>
void multi_tensor_update(Device device, const std::vector<MultiTensorSlot<T, Update>>& slots) {
    constexpr std::int64_t chunk_size = 65536;
    std::vector<MultiTensorChunk> chunks;
    for (int k = 0; k < int(slots.size()); ++k)
        for (std::int64_t begin = 0; begin < slots[k].size; begin += chunk_size)
            chunks.push_back({k, begin, std::min(slots[k].size, begin + chunk_size)});
    if (chunks.empty()) return;
    // The table travels in one block of device memory, freed once the launch is queued: the
    // allocator hands it out again only to later work on this stream.
    std::size_t slot_bytes = slots.size() * sizeof(slots[0]);
    std::size_t table_bytes = slot_bytes + chunks.size() * sizeof(MultiTensorChunk);
    std::shared_ptr<void> table = allocate(table_bytes, device);
    auto* device_slots = static_cast<MultiTensorSlot<T, Update>*>(table.get());
    auto* device_chunks = reinterpret_cast<MultiTensorChunk*>(static_cast<char*>(table.get()) + slot_bytes);
    copy_bytes(device_slots, device, slots.data(), Device::cpu(), slot_bytes);
    copy_bytes(device_chunks, device, chunks.data(), Device::cpu(), chunks.size() * sizeof(MultiTensorChunk));
    multi_tensor_kernel<<<blocks_for(std::int64_t(chunks.size()), 1), threads_per_block, 0, current_stream()>>>(
        device_slots, device_chunks, std::int64_t(chunks.size()));
    check_launch("multi_tensor_kernel");
}

} // namespace clipft::backend::cuda
