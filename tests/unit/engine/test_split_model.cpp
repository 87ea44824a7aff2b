// The work-split model: list scheduling of recorded tasks, the per-token
// figures, and a recording of the real forward pass on the default model
// with more threads than this machine's cores.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "../test_models.hpp"
#include "engine/speed_bench.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace pensieve::engine {
namespace {

using Record = kernels::ThreadPool::CallRecord;

TEST(ListSchedule, EachTaskGoesToTheThreadFreeFirst) {
    EXPECT_DOUBLE_EQ(list_schedule(std::vector<double>{}, 4), 0.0);
    EXPECT_DOUBLE_EQ(list_schedule(std::vector<double>{3, 1, 1, 1}, 1), 6.0);
    // Two threads: 3 | 1, 1 → the second thread takes both ones, then the
    // last one too (free at 2 < 3).
    EXPECT_DOUBLE_EQ(list_schedule(std::vector<double>{3, 1, 1, 1}, 2), 3.0);
    // In hand-out order, not the best packing: 1, 1 | then 4 lands on a
    // thread free at 1.
    EXPECT_DOUBLE_EQ(list_schedule(std::vector<double>{1, 1, 4}, 2), 5.0);
    // More threads than tasks: the longest task.
    EXPECT_DOUBLE_EQ(list_schedule(std::vector<double>{2, 5, 1}, 8), 5.0);
}

TEST(SplitFigures, CountSyncPointsShortCallsAndBytesPerToken) {
    std::vector<Record> calls(3);
    calls[0].task_seconds = {1, 1, 1, 1};  // 4 tasks, reads weights
    calls[0].bytes = 4000;
    calls[1].task_seconds = {2};     // serial
    calls[2].task_seconds = {1, 1};  // fewer tasks than 4 threads
    const SplitFigures f = split_figures(calls, 4, 2);
    EXPECT_EQ(f.threads, 4);
    EXPECT_DOUBLE_EQ(f.calls, 1.0);         // 2 sync points over 2 tokens
    EXPECT_DOUBLE_EQ(f.serial_calls, 0.5);  // 1 over 2 tokens
    EXPECT_DOUBLE_EQ(f.tasks, 3.5);
    EXPECT_DOUBLE_EQ(f.short_calls, 1.0);
    EXPECT_DOUBLE_EQ(f.short_share, 4.0 / 8.0);
    EXPECT_DOUBLE_EQ(f.bytes_per_task, 1000.0);
    EXPECT_DOUBLE_EQ(f.work_seconds, 4.0);      // 8 s of tasks over 2 tokens
    EXPECT_DOUBLE_EQ(f.span_seconds, 2.0);      // (1 + 2 + 1) / 2
    EXPECT_DOUBLE_EQ(f.tasks_per_thread, 0.5);  // median of 1, 0.25, 0.5
}

TEST(ThreadPoolRecord, HoldsEveryTaskOfEveryCallAndTheNotedBytes) {
    kernels::ThreadPool pool(3);
    std::vector<Record> calls;
    pool.note_bytes(99);  // not recording: forgotten
    pool.record_calls(&calls);
    pool.note_bytes(123);
    pool.parallel_for(7, [](int64_t, int) {});
    pool.parallel_for(1, [](int64_t, int) {});
    pool.record_calls(nullptr);
    pool.parallel_for(5, [](int64_t, int) {});
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].task_seconds.size(), 7u);
    EXPECT_EQ(calls[0].bytes, 123u);
    EXPECT_EQ(calls[1].task_seconds.size(), 1u);
    EXPECT_EQ(calls[1].bytes, 0u);
    for (const Record& c : calls) {
        for (double t : c.task_seconds) EXPECT_GE(t, 0.0);
    }
}

// The default model recorded with 1, 3 and 16 threads (more than the
// cores): every count gets figures, the matmuls' weight bytes show, more
// threads cut the work into more tasks, and their modelled time falls.
TEST(ModelSplit, RecordsTheForwardPassAtEveryThreadCount) {
    const auto path = testing::model_path(testing::kSmolLm);
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run `pensieve pull`";
    const auto model = model::Model::load(path);
    const std::vector<int> threads{1, 3, 16};
    const SplitModel sm = model_split(*model, threads, 64, 4, 40, gguf::TensorType::F16);
    ASSERT_EQ(sm.prefill.size(), 3u);
    ASSERT_EQ(sm.decode.size(), 3u);
    for (size_t i = 0; i < threads.size(); ++i) {
        for (const SplitFigures& f : {sm.prefill[i], sm.decode[i]}) {
            EXPECT_EQ(f.threads, threads[i]);
            EXPECT_GT(f.work_seconds, 0.0);
            EXPECT_GT(f.bytes_per_task, 0.0);
            EXPECT_LE(f.span_seconds, f.work_seconds * 1.000001);
        }
    }
    EXPECT_DOUBLE_EQ(sm.decode[0].span_seconds, sm.decode[0].work_seconds);
    EXPECT_GT(sm.decode[2].tasks, sm.decode[0].tasks);
    EXPECT_GT(sm.decode[2].calls, 0.0);
    EXPECT_LT(sm.prefill[2].span_seconds, sm.prefill[0].span_seconds);
}

}  // namespace
}  // namespace pensieve::engine
