// Joining a run: backend names, a process started without a launcher runs alone, and a process
// that mpirun started among several refuses to run alone (it would overwrite the others' files).
#include <doctest/doctest.h>

#include <clipft/distributed/launch.hpp>

#include <cstdlib>

using namespace clipft;

TEST_CASE("backend names") {
    CHECK(distributed::parse_backend("auto") == distributed::Backend::automatic);
    CHECK(distributed::parse_backend("single") == distributed::Backend::single_process);
    CHECK(distributed::parse_backend("mpi") == distributed::Backend::mpi);
    CHECK(distributed::parse_backend("nccl") == distributed::Backend::nccl);
    CHECK_THROWS_WITH_AS(distributed::parse_backend("gloo"), doctest::Contains("use auto, single, mpi or nccl"), Error);
}

TEST_CASE("without a launcher, a run is one process") {
    if (distributed::launched_processes() > 0) return; // this test binary itself runs under mpirun
    auto communicator = distributed::join_ranks();
    CHECK(communicator->size() == 1);
    CHECK(communicator->backend() == "single process");
}

// A Slurm batch script run without srun, or `mpirun -np 1`: one process, in any build.
TEST_CASE("a launcher's single process and a Slurm allocation's task count make a run of one process") {
    if (distributed::launched_processes() > 0) return;
    ::setenv("SLURM_NTASKS", "8", 1);
    CHECK(distributed::launched_processes() == 0);
    CHECK(distributed::join_ranks()->size() == 1);
    ::unsetenv("SLURM_NTASKS");
    ::setenv("PMI_SIZE", "1", 1);
    CHECK(distributed::join_ranks()->backend() == "single process");
    ::unsetenv("PMI_SIZE");
}

TEST_CASE("one of several processes started by a launcher refuses to run alone") {
    if (distributed::launched_processes() > 0) return;
    ::setenv("PMI_SIZE", "4", 1);
    CHECK(distributed::launched_processes() == 4);
    CHECK_THROWS_WITH_AS(distributed::join_ranks(distributed::Backend::single_process),
                         doctest::Contains("one of 4 started by mpirun"), Error);
    if (!distributed::built_with_mpi())
        CHECK_THROWS_WITH_AS(distributed::join_ranks(), doctest::Contains("built without MPI"), Error);
    ::unsetenv("PMI_SIZE");
}
