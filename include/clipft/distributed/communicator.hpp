#pragma once
// What data-parallel training needs from the processes of a run ("ranks"): who am I, how many are
// we, root's bytes everywhere, element-wise sums everywhere, a meeting point. Every collective waits
// at most `timeout` for the other ranks and then throws clipft::Error: a rank that crashed, hangs or
// left the run must stop the whole run with a message, never leave the others waiting for ever.
// SingleProcess is the run of one; MPI and NCCL implement the same interface (mpi_communicator.hpp,
// nccl_communicator.hpp), and join_ranks() (launch.hpp) picks one.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::distributed {

// Long enough for rank 0 to write a ViT-L/14 checkpoint with its AdamW moments (about 5 GB) while
// the others wait in the next collective.
inline constexpr std::chrono::seconds default_collective_timeout{600};

class Communicator {
public:
    virtual ~Communicator() = default;

    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual int local_rank() const = 0;      // rank among the processes of this machine: which GPU to use
    virtual int local_size() const = 0;      // processes of the run on this machine: who shares its cores
    virtual std::string backend() const = 0; // "single process", "mpi", "nccl"

    // Replaces `bytes` on every rank by root's.
    virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
    // Replaces `values` on every rank by their element-wise sum over the ranks.
    virtual void all_reduce_sum(std::span<float> values) = 0;
    virtual void all_reduce_sum(std::span<double> values) = 0;
    // Returns once every rank has called it.
    virtual void barrier() = 0;
    // Ends every rank of the run at once: what a rank does after a failure of its own, so that the
    // others do not wait for it until their timeout. Not virtual: GCC loses the [[noreturn]] of a
    // virtual call, and its callers would warn that control reaches their end.
    [[noreturn]] void abort(int exit_code) {
        end_all_ranks(exit_code);
        std::_Exit(exit_code); // only if an end_all_ranks broke its contract and returned
    }

    bool is_root() const { return rank() == 0; }

    // The element-wise mean over the ranks.
    template <class T> void all_reduce_average(std::span<T> values) {
        all_reduce_sum(values);
        if (size() == 1) return;
        const T ranks = T(size());
        for (T& value : values) value /= ranks;
    }

    template <class T> void broadcast_values(std::span<T> values, int root) {
        broadcast(std::as_writable_bytes(values), root);
    }

    // Root's text on every rank (its length first, so that the others need not know it).
    std::string broadcast_text(std::string text, int root) {
        std::uint64_t length = text.size();
        broadcast_values(std::span<std::uint64_t>(&length, 1), root);
        text.resize(std::size_t(length));
        broadcast(std::as_writable_bytes(std::span<char>(text.data(), text.size())), root);
        return text;
    }

protected:
    // What abort does for this kind of communicator; it must not return (it may throw).
    virtual void end_all_ranks(int exit_code) = 0;
};

// A run of one process: every collective is already complete.
class SingleProcess final : public Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    int local_rank() const override { return 0; }
    int local_size() const override { return 1; }
    std::string backend() const override { return "single process"; }
    void broadcast(std::span<std::byte>, int root) override { check_root(root); }
    void all_reduce_sum(std::span<float>) override {}
    void all_reduce_sum(std::span<double>) override {}
    void barrier() override {}
    void end_all_ranks(int exit_code) override { std::exit(exit_code); }

private:
    static void check_root(int root) {
        if (root != 0) fail("broadcast: root rank ", root, " does not exist in a single-process run (rank 0 only)");
    }
};

} // namespace clipft::distributed
