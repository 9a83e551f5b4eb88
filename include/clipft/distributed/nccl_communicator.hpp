#pragma once
// GPU ranks: one process per GPU (the GPU of the rank's local_rank), all-reduce through NCCL, the
// NCCL communicator bootstrapped through MPI (rank 0's ncclUniqueId broadcast to the others). Host
// data that no GPU needs (broadcasts of settings and parameters, barriers) keeps going through MPI.
// Values in host memory (clipft's CPU tensors) are staged through a device buffer; device pointers
// are reduced in place. Each NCCL operation is polled against the same deadline as MPI's, and a
// timed-out one aborts the NCCL communicator before throwing. Needs <nccl.h> and the CUDA runtime
// (CUDA Toolkit); the build defines CLIPFT_WITH_NCCL where they were found (CMake target clipft::nccl).
#include <clipft/backends.hpp>
#include <clipft/distributed/mpi_communicator.hpp>

#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>

namespace clipft::inline CLIPFT_BACKENDS::distributed {

class NcclCommunicator final : public Communicator {
public:
    explicit NcclCommunicator(std::chrono::duration<double> timeout = default_collective_timeout)
        : mpi_(std::make_unique<MpiCommunicator>(timeout)) {
        int devices = 0;
        check_cuda(cudaGetDeviceCount(&devices), "counting the GPUs");
        if (devices == 0) fail("rank ", rank(), ": no GPU found for NCCL; run CPU ranks (the MPI backend) instead");
        device_ = mpi_->local_rank() % devices;
        check_cuda(cudaSetDevice(device_), "selecting the GPU of this rank");
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
        ncclUniqueId id{};
        if (mpi_->is_root()) check_nccl(ncclGetUniqueId(&id), "creating the communicator's id");
        mpi_->broadcast(std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)), 0);
        // Non-blocking initialisation: a rank that never joins makes the others time out, not hang.
        ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
        config.blocking = 0;
        check_nccl(ncclCommInitRankConfig(&nccl_, size(), id, rank(), &config), "joining the communicator");
        wait_for_nccl("joining the communicator");
    }

    NcclCommunicator(const NcclCommunicator&) = delete;
    NcclCommunicator& operator=(const NcclCommunicator&) = delete;

    ~NcclCommunicator() override {
        if (nccl_) (broken_ ? ncclCommAbort(nccl_) : ncclCommDestroy(nccl_));
        if (staging_) cudaFree(staging_);
        if (stream_) cudaStreamDestroy(stream_);
    }

    int rank() const override { return mpi_->rank(); }
    int size() const override { return mpi_->size(); }
    int local_rank() const override { return mpi_->local_rank(); }
    int local_size() const override { return mpi_->local_size(); }
    std::string backend() const override { return "nccl"; }
    int device() const { return device_; }

    void broadcast(std::span<std::byte> bytes, int root) override { mpi_->broadcast(bytes, root); }
    void all_reduce_sum(std::span<float> values) override { all_reduce(values.data(), values.size(), ncclFloat32); }
    void all_reduce_sum(std::span<double> values) override { all_reduce(values.data(), values.size(), ncclFloat64); }
    void barrier() override { mpi_->barrier(); }
    void end_all_ranks(int exit_code) override {
        if (nccl_) ncclCommAbort(nccl_);
        nccl_ = nullptr;
        mpi_->abort(exit_code);
    }

private:
    template <class T> void all_reduce(T* values, std::size_t count, ncclDataType_t type) {
        if (count == 0) return;
        const std::size_t bytes = count * sizeof(T);
        cudaPointerAttributes attributes{};
        const bool on_device = cudaPointerGetAttributes(&attributes, values) == cudaSuccess &&
                               (attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged);
        void* buffer = values;
        if (!on_device) {
            reserve_staging(bytes);
            buffer = staging_;
            check_cuda(cudaMemcpyAsync(buffer, values, bytes, cudaMemcpyHostToDevice, stream_),
                       "copying values to the GPU");
        }
        check_nccl(ncclAllReduce(buffer, buffer, count, type, ncclSum, nccl_, stream_), "all-reduce");
        wait_for_nccl("all-reduce");
        if (!on_device)
            check_cuda(cudaMemcpyAsync(values, buffer, bytes, cudaMemcpyDeviceToHost, stream_), "copying sums back");
        wait_for_stream("all-reduce");
    }

    void reserve_staging(std::size_t bytes) {
        if (bytes <= staging_bytes_) return;
        if (staging_) check_cuda(cudaFree(staging_), "freeing the staging buffer");
        staging_ = nullptr;
        check_cuda(cudaMalloc(&staging_, bytes), "allocating a staging buffer on the GPU");
        staging_bytes_ = bytes;
    }

    // NCCL's own state (a non-blocking call in progress, or a failure of another rank it noticed).
    void wait_for_nccl(const char* what) {
        const auto deadline = deadline_from_now();
        for (ncclResult_t state = ncclInProgress; state == ncclInProgress;) {
            check_nccl(ncclCommGetAsyncError(nccl_, &state), what);
            if (state != ncclInProgress)
                check_nccl(state, what);
            else
                check_deadline(deadline, what);
        }
    }

    void wait_for_stream(const char* what) {
        const auto deadline = deadline_from_now();
        for (cudaError_t state = cudaStreamQuery(stream_); state != cudaSuccess; state = cudaStreamQuery(stream_)) {
            if (state != cudaErrorNotReady) check_cuda(state, what);
            ncclResult_t nccl_state = ncclSuccess;
            check_nccl(ncclCommGetAsyncError(nccl_, &nccl_state), what);
            check_nccl(nccl_state, what);
            check_deadline(deadline, what);
            std::this_thread::yield();
        }
    }

    std::chrono::steady_clock::time_point deadline_from_now() const {
        return std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(mpi_->timeout());
    }

    void check_deadline(std::chrono::steady_clock::time_point deadline, const char* what) {
        if (std::chrono::steady_clock::now() <= deadline) return;
        broken_ = true;
        fail("rank ", rank(), " of ", size(), " (GPU ", device_, "): the NCCL ", what, " did not complete within ",
             mpi_->timeout().count(),
             " s; another rank has failed, crashed or hangs (see its message above). Every rank "
             "stops now; when a rank is only slow, allow a longer --collective-timeout");
    }

    void check_nccl(ncclResult_t code, const char* what) {
        if (code == ncclSuccess || code == ncclInProgress) return;
        broken_ = true;
        fail("rank ", rank(), " of ", size(), " (GPU ", device_, "): NCCL ", what,
             " failed: ", ncclGetErrorString(code));
    }

    void check_cuda(cudaError_t code, const char* what) {
        if (code == cudaSuccess) return;
        broken_ = true;
        fail("rank ", rank(), " of ", size(), " (GPU ", device_, "): CUDA failed ", what, ": ",
             cudaGetErrorString(code));
    }

    std::unique_ptr<MpiCommunicator> mpi_;
    int device_ = 0;
    cudaStream_t stream_ = nullptr;
    ncclComm_t nccl_ = nullptr;
    void* staging_ = nullptr;
    std::size_t staging_bytes_ = 0;
    bool broken_ = false;
};

} // namespace clipft::distributed
