#pragma once
// Prefetcher<T>: computes the next value, such as a training batch (decoding, augmentation,
// preprocessing), on a background thread while the caller trains on the current one.
//
// It must never slow the training it feeds, even when the products already keep every core busy:
//   - the background thread runs under SCHED_IDLE (Linux), so it only gets cycles that no other
//     thread of the machine wants, and OpenBLAS's threads always win the cores; once the caller
//     waits for the value it returns to normal priority, or other programs on a busy machine
//     would starve it and the caller with it. A process that may not return a thread from
//     SCHED_IDLE (an unprivileged one under the default RLIMIT_NICE of 0) keeps normal priority;
//   - it never touches the shared thread pool, which belongs to the trainer (its parallel loops run
//     inline on the background thread);
//   - a value the background thread has not begun when the caller asks for it is computed by the
//     caller itself, with the whole pool, exactly as without prefetching.
// The value is the same whichever thread computes it; only when it is ready changes.
#include <clipft/backends.hpp>
#include <clipft/backend/threads.hpp>
#include <clipft/error.hpp>

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace clipft::inline CLIPFT_BACKENDS::data {

// Whether this process may take a thread back from SCHED_IDLE to normal priority (root,
// CAP_SYS_NICE, or RLIMIT_NICE >= 20); asked once, of a short-lived thread.
inline bool can_leave_idle_priority() {
#ifdef __linux__
    static const bool allowed = [] {
        bool result = false;
        std::thread([&] {
            sched_param priority{};
            result = pthread_setschedparam(pthread_self(), SCHED_IDLE, &priority) == 0 &&
                     pthread_setschedparam(pthread_self(), SCHED_OTHER, &priority) == 0;
        }).join();
        return result;
    }();
    return allowed;
#else
    return false;
#endif
}

template <typename T> class Prefetcher {
public:
    Prefetcher() = default;
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;
    ~Prefetcher() { cancel(); } // then worker_'s destructor stops and joins the thread

    // Whether a value was started and not yet taken or cancelled.
    bool pending() const {
        std::lock_guard lock(mutex_);
        return state_ != State::idle;
    }

    // Starts computing `job` in the background; one value at a time.
    void start(std::function<T()> job) {
        if (!worker_.joinable()) worker_ = std::jthread([this](std::stop_token stop) { work(stop); });
        std::lock_guard lock(mutex_);
        if (state_ != State::idle)
            fail("Prefetcher::start: the previous value was not taken; call take() or cancel() first");
        job_ = std::move(job);
        state_ = State::queued;
        wake_.notify_all();
    }

    // The started value: computed here if the background thread has not begun it, else awaited.
    // An exception thrown by the job is rethrown here.
    T take() {
        std::unique_lock lock(mutex_);
        if (state_ == State::idle) fail("Prefetcher::take: no value was started; call start() first");
        if (state_ == State::queued) {
            std::function<T()> job = std::move(job_);
            state_ = State::idle;
            lock.unlock();
            return job();
        }
        if (state_ == State::running) set_priority(worker_.native_handle(), false);
        finished_.wait(lock, [&] { return state_ == State::done; });
        state_ = State::idle;
        std::optional<T> value = std::move(value_);
        value_.reset();
        if (std::exception_ptr error = std::exchange(error_, nullptr)) std::rethrow_exception(error);
        return std::move(*value);
    }

    // Drops the started value; waits for it when the background thread is computing it.
    void cancel() {
        std::unique_lock lock(mutex_);
        if (state_ == State::running) set_priority(worker_.native_handle(), false);
        finished_.wait(lock, [&] { return state_ != State::running; });
        state_ = State::idle;
        job_ = nullptr;
        value_.reset();
        error_ = nullptr;
    }

private:
    enum class State { idle, queued, running, done };

    // Best effort: without it the values are the same, only the timing changes.
    static void set_priority(std::thread::native_handle_type thread, bool idle) {
#ifdef __linux__
        sched_param priority{};
        pthread_setschedparam(thread, idle ? SCHED_IDLE : SCHED_OTHER, &priority);
#else
        (void)thread, (void)idle;
#endif
    }

    void work(std::stop_token stop) {
        backend::ThreadPool::run_inline_on_this_thread();
        for (;;) {
            std::unique_lock lock(mutex_);
            if (!wake_.wait(lock, stop, [&] { return state_ == State::queued; })) return;
            std::function<T()> job = std::move(job_);
            state_ = State::running;
            // Under the lock: a waiting take() raises it after this.
            if (can_leave_idle_priority()) set_priority(worker_.native_handle(), true);
            lock.unlock();
            std::optional<T> value;
            std::exception_ptr error;
            try {
                value.emplace(job());
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            value_ = std::move(value);
            error_ = error;
            state_ = State::done;
            finished_.notify_all();
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    std::condition_variable finished_;
    State state_ = State::idle;
    std::function<T()> job_;
    std::optional<T> value_;
    std::exception_ptr error_;
    std::jthread worker_; // last: it stops and joins before the state it uses goes away
};

} // namespace clipft::data
