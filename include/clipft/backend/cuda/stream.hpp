#pragma once
// Streams: every kernel, copy and allocation of the CUDA backend goes to the calling thread's
// current stream (the default stream until a StreamGuard selects another), and every call first
// makes the tensor's device the current one.
#include <clipft/backends.hpp>
#include <clipft/backend/cuda/check.hpp>
#include <clipft/device.hpp>

namespace clipft::inline CLIPFT_BACKENDS::backend::cuda {

// An owned, non-blocking stream on one device.
class Stream {
public:
    explicit Stream(int device = 0) : device_(device) {
        int previous = 0;
        CLIPFT_CUDA_CHECK(cudaGetDevice(&previous));
        CLIPFT_CUDA_CHECK(cudaSetDevice(device));
        CLIPFT_CUDA_CHECK(cudaStreamCreateWithFlags(&handle_, cudaStreamNonBlocking));
        CLIPFT_CUDA_CHECK(cudaSetDevice(previous));
    }
    ~Stream() { cudaStreamDestroy(handle_); } // never throws from a destructor; the handle dies with it
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    cudaStream_t handle() const { return handle_; }
    int device() const { return device_; }
    void synchronize() const { CLIPFT_CUDA_CHECK(cudaStreamSynchronize(handle_)); }

private:
    int device_;
    cudaStream_t handle_ = nullptr;
};

inline cudaStream_t& current_stream_slot() {
    thread_local cudaStream_t stream = nullptr; // the legacy default stream
    return stream;
}

inline cudaStream_t current_stream() { return current_stream_slot(); }

// Sends this thread's work to `stream` for the guard's lifetime.
class StreamGuard {
public:
    explicit StreamGuard(const Stream& stream) : previous_(current_stream_slot()) {
        CLIPFT_CUDA_CHECK(cudaSetDevice(stream.device()));
        current_stream_slot() = stream.handle();
    }
    ~StreamGuard() { current_stream_slot() = previous_; }
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    cudaStream_t previous_;
};

// Asked of the driver once: every op checks its device against it.
inline int device_count() {
    static const int count = [] {
        int devices = 0;
        // No driver or no device both mean "no CUDA device here", which callers test for.
        if (cudaGetDeviceCount(&devices) != cudaSuccess) {
            cudaGetLastError();
            return 0;
        }
        return devices;
    }();
    return count;
}

inline void use_device(Device device) {
    if (!device.is_cuda()) fail("use_device: ", device, " is not a CUDA device");
    int count = device_count();
    if (device.index < 0 || device.index >= count)
        fail("device ", device, " does not exist: this machine has ", count,
             " CUDA device(s); use Device::cuda(i) with i below that");
    CLIPFT_CUDA_CHECK(cudaSetDevice(device.index));
}

// Waits for this thread's queued work (e.g. before timing, or before the host reads results).
inline void synchronize() { CLIPFT_CUDA_CHECK(cudaStreamSynchronize(current_stream())); }

} // namespace clipft::backend::cuda
