// Prefetcher: values computed in the background arrive intact, errors reach the caller, the
// background thread keeps off the shared pool, and misuse is refused.
#include <doctest/doctest.h>

#include <clipft/data/prefetch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <stdexcept>
#include <vector>

using namespace clipft;

TEST_CASE("a started value is computed in the background and taken once") {
    data::Prefetcher<std::vector<int>> prefetcher;
    CHECK_FALSE(prefetcher.pending());
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> began{false};
    prefetcher.start([&] {
        began = true;
        released.wait(); // holds the job in the background until the caller has gone on
        return std::vector<int>{1, 2, 3};
    });
    CHECK(prefetcher.pending());
    while (!began) std::this_thread::yield(); // the job runs although the caller has not asked for it
    release.set_value();
    CHECK(prefetcher.take() == std::vector<int>{1, 2, 3});
    CHECK_FALSE(prefetcher.pending());

    // The thread stays available for the next value.
    prefetcher.start([] { return std::vector<int>{4}; });
    CHECK(prefetcher.take() == std::vector<int>{4});
}

#ifdef __linux__
// On a machine busy with other programs an idle-priority thread gets almost no time, so a caller
// waiting for it would wait almost for ever: the job must run at idle priority until the caller
// waits, then at normal priority; and never at idle priority where it could not come back.
TEST_CASE("the background thread runs at idle priority until the caller waits for it") {
    auto policy = [] {
        int current = -1;
        sched_param parameters{};
        pthread_getschedparam(pthread_self(), &current, &parameters);
        return current;
    };
    if (!data::can_leave_idle_priority()) {
        data::Prefetcher<int> prefetcher;
        std::atomic<bool> began{false};
        prefetcher.start([&] {
            began = true;
            return policy();
        });
        while (!began) std::this_thread::sleep_for(std::chrono::milliseconds(1)); // on the background thread
        CHECK(prefetcher.take() == SCHED_OTHER);
        return;
    }
    data::Prefetcher<std::pair<int, int>> prefetcher;
    std::atomic<bool> began{false};
    prefetcher.start([&] {
        int before = policy();
        began = true;
        for (int i = 0; i < 10000 && policy() == before; ++i) // until take() raises it
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return std::pair{before, policy()};
    });
    while (!began) std::this_thread::sleep_for(std::chrono::milliseconds(1)); // sleeping, so an idle core lets it begin
    auto [before, after] = prefetcher.take();
    CHECK(before == SCHED_IDLE);
    CHECK(after == SCHED_OTHER);
}
#endif

TEST_CASE("an exception thrown by the job is rethrown by take") {
    data::Prefetcher<int> prefetcher;
    prefetcher.start([]() -> int { throw std::runtime_error("corrupt.jpg: truncated"); });
    CHECK_THROWS_WITH_AS(prefetcher.take(), "corrupt.jpg: truncated", std::runtime_error);
    CHECK_FALSE(prefetcher.pending());
    prefetcher.start([] { return 7; });
    CHECK(prefetcher.take() == 7);
}

TEST_CASE("parallel loops inside the job run inline on the background thread") {
    data::Prefetcher<std::set<std::thread::id>> prefetcher;
    prefetcher.start([] {
        std::set<std::thread::id> threads;
        std::mutex mutex;
        backend::parallel_for(64, 1, [&](std::int64_t, std::int64_t) {
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
        });
        return threads;
    });
    std::set<std::thread::id> threads = prefetcher.take();
    CHECK(threads.size() == 1);
    // Meanwhile the caller's own parallel loops still use the pool.
    if (backend::num_threads() > 1) {
        std::set<std::thread::id> caller_threads;
        std::mutex mutex;
        backend::parallel_for(backend::num_threads(), 1, [&](std::int64_t, std::int64_t) {
            std::lock_guard lock(mutex);
            caller_threads.insert(std::this_thread::get_id());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        });
        CHECK(caller_threads.size() > 1);
    }
}

TEST_CASE("cancel drops a value, waiting for a job in progress") {
    data::Prefetcher<int> prefetcher;
    std::atomic<bool> began{false}, finished{false};
    prefetcher.start([&] {
        began = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        finished = true;
        return 1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    prefetcher.cancel();
    CHECK_FALSE(prefetcher.pending());
    // Either the job had begun and cancel waited for it, or it was dropped before it began.
    CHECK(began == finished);
    CHECK_NOTHROW(prefetcher.start([] { return 2; }));
    CHECK(prefetcher.take() == 2);
}

TEST_CASE("taking without a start, or starting twice, is refused") {
    data::Prefetcher<int> prefetcher;
    CHECK_THROWS_WITH_AS(prefetcher.take(), doctest::Contains("no value was started"), Error);
    prefetcher.start([] { return 1; });
    CHECK_THROWS_WITH_AS(prefetcher.start([] { return 2; }), doctest::Contains("was not taken"), Error);
    CHECK(prefetcher.take() == 1);
}
