// The thread pool runs every task exactly once, on any thread count, and can
// be reused for many calls (it is persistent, not per call).
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "kernels/thread_pool.hpp"

namespace pensieve::kernels {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnceForAnyThreadCount) {
    for (int threads : {1, 2, 3, 8}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        for (int64_t n : {0, 1, 2, 7, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.parallel_for(n, [&](int64_t task, int thread) {
                EXPECT_GE(thread, 0);
                EXPECT_LT(thread, threads);
                hits[static_cast<size_t>(task)].fetch_add(1);
            });
            for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        }
    }
}

TEST(ThreadPool, SurvivesManyBackToBackCalls) {
    ThreadPool pool(2);
    std::atomic<int64_t> sum{0};
    for (int call = 0; call < 5000; ++call) {
        pool.parallel_for(4, [&](int64_t task, int) { sum.fetch_add(task + 1); });
    }
    EXPECT_EQ(sum.load(), 5000 * 10);
}

}  // namespace
}  // namespace pensieve::kernels
