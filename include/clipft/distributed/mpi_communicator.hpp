#pragma once
// The ranks of an MPI job (mpirun -np N ...): CPU collectives through MPI, each one started
// non-blocking and polled against a deadline, so that a rank that died, hangs or left makes the others
// throw clipft::Error instead of blocking for ever. Needs <mpi.h> (Debian: libopenmpi-dev); the
// build defines CLIPFT_WITH_MPI where it was found (CMake target clipft::mpi).
#include <clipft/backends.hpp>
#include <clipft/distributed/communicator.hpp>

// The C API only: MPI's deprecated C++ bindings would add a library to link and warnings to compile.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

namespace clipft::inline CLIPFT_BACKENDS::distributed {

class MpiCommunicator final : public Communicator {
public:
    // Initialises MPI unless the program already did (then it also finalises it).
    explicit MpiCommunicator(std::chrono::duration<double> timeout = default_collective_timeout) : timeout_(timeout) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            // Only the thread that created the communicator calls MPI; clipft's worker threads never do.
            int provided = 0;
            if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
                fail("MPI_Init_thread failed; start the program with mpirun, or as a single process without it");
            owns_mpi_ = true;
        }
        // Errors come back as codes, so that they become clipft::Error with the collective named.
        MPI_Comm_dup(MPI_COMM_WORLD, &world_);
        MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(world_, &rank_);
        MPI_Comm_size(world_, &size_);
        MPI_Comm machine;
        check(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &machine),
              "finding the ranks of this machine");
        MPI_Comm_rank(machine, &local_rank_);
        MPI_Comm_size(machine, &local_size_);
        MPI_Comm_free(&machine);
    }

    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;

    // A communicator dropped by an error (its own or a timed-out collective) ends every rank: the
    // others would otherwise wait in their next collective until their own timeout.
    ~MpiCommunicator() override {
        if (broken_ || std::uncaught_exceptions() > 0) {
            std::fprintf(stderr, "clipft: rank %d of %d stopped on an error; stopping every rank (MPI_Abort)\n", rank_,
                         size_);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Comm_free(&world_);
        if (owns_mpi_) MPI_Finalize();
    }

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_rank() const override { return local_rank_; }
    int local_size() const override { return local_size_; }
    std::string backend() const override { return "mpi"; }
    std::chrono::duration<double> timeout() const { return timeout_; }
    MPI_Comm handle() const { return world_; }

    void broadcast(std::span<std::byte> bytes, int root) override {
        if (root < 0 || root >= size_) fail("broadcast: root rank ", root, " does not exist (", size_, " ranks)");
        for (std::size_t begin = 0; begin < bytes.size(); begin += max_count) {
            int count = int(std::min(max_count, bytes.size() - begin));
            MPI_Request request;
            check(MPI_Ibcast(bytes.data() + begin, count, MPI_BYTE, root, world_, &request), "broadcast");
            wait(request, "broadcast");
        }
    }

    void all_reduce_sum(std::span<float> values) override { all_reduce(values.data(), values.size(), MPI_FLOAT); }
    void all_reduce_sum(std::span<double> values) override { all_reduce(values.data(), values.size(), MPI_DOUBLE); }

    void barrier() override {
        MPI_Request request;
        check(MPI_Ibarrier(world_, &request), "barrier");
        wait(request, "barrier");
    }

    void end_all_ranks(int exit_code) override { MPI_Abort(MPI_COMM_WORLD, exit_code); }

private:
    static constexpr std::size_t max_count = std::size_t(1) << 30; // MPI counts are int

    template <class T> void all_reduce(T* values, std::size_t count, MPI_Datatype type) {
        for (std::size_t begin = 0; begin < count; begin += max_count) {
            MPI_Request request;
            check(MPI_Iallreduce(MPI_IN_PLACE, values + begin, int(std::min(max_count, count - begin)), type, MPI_SUM,
                                 world_, &request),
                  "all-reduce");
            wait(request, "all-reduce");
        }
    }

    // Polls without sleeping: Open MPI progresses a non-blocking collective only inside MPI calls, so
    // a pause between tests would slow every large all-reduce down.
    void wait(MPI_Request& request, const char* what) {
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (int done = 0;;) {
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
            if (done) return;
            if (std::chrono::steady_clock::now() > deadline) {
                broken_ = true;
                fail("rank ", rank_, " of ", size_, ": the ", what, " did not complete within ", timeout_.count(),
                     " s; another rank has failed, crashed or hangs (see its message above). Every rank stops now; "
                     "when a rank is only slow (e.g. writing a large checkpoint), allow a longer --collective-timeout");
            }
            std::this_thread::yield();
        }
    }

    void check(int code, const char* what) {
        if (code == MPI_SUCCESS) return;
        broken_ = true;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(code, text, &length);
        fail("rank ", rank_, " of ", size_, ": MPI ", what, " failed: ", std::string(text, std::size_t(length)));
    }

    std::chrono::duration<double> timeout_;
    MPI_Comm world_ = MPI_COMM_NULL;
    int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
    bool owns_mpi_ = false, broken_ = false;
};

} // namespace clipft::distributed
