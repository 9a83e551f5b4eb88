#pragma once
// One thread setting for the whole CPU backend. CLIPFT_NUM_THREADS (default: all cores) sizes
// clipft's own pool, the one team of threads on the cores: its workers sleep on a condition variable
// between jobs instead of spinning, and OpenBLAS runs single-threaded inside them (backend/cpu/blas.hpp
// splits each product over the pool), since OpenBLAS's own spin-waiting threads lose the cores to
// any other load.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace clipft::inline CLIPFT_BACKENDS::backend {

class ThreadPool {
public:
    explicit ThreadPool(int threads) { start(threads); }
    ~ThreadPool() { stop(); }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Makes every run() called from this thread run inline: for threads outside the team that must
    // not share the pool (the pool serves one calling thread at a time).
    static void run_inline_on_this_thread() { inside_task() = true; }

    void resize(int threads) {
        stop();
        start(threads);
    }

    // Runs body(task) for task in [0, tasks), the calling thread taking part; returns when all ran.
    void run(int tasks, const std::function<void(int)>& body) {
        if (tasks <= 1 || workers_.empty() || inside_task()) { // nested work runs inline
            for (int task = 0; task < tasks; ++task) body(task);
            return;
        }
        std::unique_lock lock(mutex_);
        body_ = &body;
        tasks_ = tasks;
        next_task_ = 0;
        unfinished_ = tasks;
        ++generation_;
        lock.unlock();
        wake_.notify_all();
        work_until_done();
        lock.lock();
        done_.wait(lock, [&] { return unfinished_ == 0; });
        body_ = nullptr;
    }

private:
    static bool& inside_task() {
        thread_local bool inside = false;
        return inside;
    }

    void start(int threads) {
        quit_ = false;
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            quit_ = true;
        }
        wake_.notify_all();
        for (auto& worker : workers_) worker.join();
        workers_.clear();
    }

    void work_until_done() {
        for (;;) {
            int task;
            {
                std::lock_guard lock(mutex_);
                if (body_ == nullptr || next_task_ >= tasks_) return;
                task = next_task_++;
            }
            inside_task() = true;
            (*body_)(task);
            inside_task() = false;
            std::lock_guard lock(mutex_);
            if (--unfinished_ == 0) done_.notify_all();
        }
    }

    void worker_loop() {
        std::uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
                if (quit_) return;
                seen = generation_;
            }
            work_until_done();
        }
    }

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int)>* body_ = nullptr;
    int tasks_ = 0, next_task_ = 0, unfinished_ = 0;
    std::uint64_t generation_ = 0;
    bool quit_ = false;
};

inline int default_thread_count() {
    if (const char* setting = std::getenv("CLIPFT_NUM_THREADS")) {
        char* end = nullptr;
        long value = std::strtol(setting, &end, 10);
        if (end == setting || *end != '\0' || value < 1 || value > 1024)
            fail("CLIPFT_NUM_THREADS='", setting, "' is not a thread count: set it to a whole number >= 1");
        return int(value);
    }
    return int(std::max(1u, std::thread::hardware_concurrency()));
}

inline ThreadPool& thread_pool() {
    static ThreadPool pool(default_thread_count());
    static bool blas_configured = (openblas_set_num_threads(1), true);
    (void)blas_configured;
    return pool;
}

inline int num_threads() { return thread_pool().size(); }

// Changes the thread count of clipft's pool, which also runs every BLAS product.
inline void set_num_threads(int threads) {
    if (threads < 1) fail("set_num_threads: ", threads, " is not a thread count (need >= 1)");
    thread_pool().resize(threads);
}

// Splits [0, count) into contiguous chunks of at least `grain` items and runs body(begin, end) on
// the pool. Work too small to pay for a wake-up runs inline.
template <typename Body> void parallel_for(std::int64_t count, std::int64_t grain, Body&& body) {
    if (count <= 0) return;
    ThreadPool& pool = thread_pool();
    std::int64_t chunks = std::min<std::int64_t>(pool.size(), (count + grain - 1) / std::max<std::int64_t>(grain, 1));
    if (chunks <= 1) {
        body(std::int64_t(0), count);
        return;
    }
    std::function<void(int)> task = [&](int chunk) {
        std::int64_t begin = count * chunk / chunks, end = count * (chunk + 1) / chunks;
        body(begin, end);
    };
    pool.run(int(chunks), task);
}

} // namespace clipft::backend
