#pragma once
// Joining the other processes of a run. A program started by mpirun/mpiexec (or srun) with clipft
// built with MPI joins them through MPI, or through NCCL with `Backend::nccl` (GPU ranks); any other
// start is a run of one process. A program started by a launcher with several processes but built
// without MPI refuses to start: each process would train alone and overwrite the others' files.
#include <clipft/backends.hpp>
#include <clipft/distributed/communicator.hpp>
#if defined(CLIPFT_WITH_NCCL)
#include <clipft/distributed/nccl_communicator.hpp>
#elif defined(CLIPFT_WITH_MPI)
#include <clipft/distributed/mpi_communicator.hpp>
#endif

#include <memory>

namespace clipft::inline CLIPFT_BACKENDS::distributed {

enum class Backend { automatic, single_process, mpi, nccl };

inline Backend parse_backend(const std::string& name) {
    if (name == "auto") return Backend::automatic;
    if (name == "single") return Backend::single_process;
    if (name == "mpi") return Backend::mpi;
    if (name == "nccl") return Backend::nccl;
    fail("distributed backend '", name, "' is unknown; use auto, single, mpi or nccl");
}

inline bool built_with_mpi() {
#if defined(CLIPFT_WITH_MPI)
    return true;
#else
    return false;
#endif
}

inline bool built_with_nccl() {
#if defined(CLIPFT_WITH_NCCL)
    return true;
#else
    return false;
#endif
}

// The number of processes the launcher started (Open MPI, MPICH/PMI and srun say so in the
// environment), or 0 when no launcher started this one. Not SLURM_NTASKS: a batch script run
// without srun sees its allocation's task count there.
inline int launched_processes() {
    for (const char* variable :
         {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS"})
        if (const char* value = std::getenv(variable)) return std::atoi(value);
    return 0;
}

// The run's communicator. `automatic`: MPI when a launcher started this process with others, else
// a single process. NCCL (GPU ranks) must be asked for: clipft's tensors live on the CPU unless the program
// moves them.
inline std::unique_ptr<Communicator> join_ranks(Backend backend = Backend::automatic,
                                                std::chrono::duration<double> timeout = default_collective_timeout) {
    const int launched = launched_processes();
    if (backend == Backend::automatic) backend = launched > 1 ? Backend::mpi : Backend::single_process;
    if (backend == Backend::single_process) {
        if (launched > 1)
            fail("this process is one of ", launched,
                 " started by mpirun, but a single-process run was asked for; "
                 "start it without mpirun, or ask for the mpi backend");
        return std::make_unique<SingleProcess>();
    }
#if defined(CLIPFT_WITH_NCCL)
    if (backend == Backend::nccl) return std::make_unique<NcclCommunicator>(timeout);
#endif
#if defined(CLIPFT_WITH_MPI)
    if (backend == Backend::mpi) return std::make_unique<MpiCommunicator>(timeout);
#endif
    (void)timeout;
    if (backend == Backend::nccl && built_with_mpi())
        fail("the nccl backend was asked for, but clipft was built without NCCL; rebuild with the CUDA Toolkit's NCCL, "
             "or use the mpi backend");
    fail(launched > 1 ? "this process is one of " + std::to_string(launched) + " started by mpirun, but "
                      : std::string(),
         "clipft was built without MPI; install Open MPI (Debian: apt-get install libopenmpi-dev openmpi-bin) and "
         "rebuild, "
         "or run a single process");
}

} // namespace clipft::distributed
