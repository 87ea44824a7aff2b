// A persistent pool of worker threads for the kernels. One forward pass makes
// hundreds of parallel calls, so workers are created once and parked between
// calls (a short spin, then a futex wait), never created per call. Every wait
// ends in a blocking futex wait, so the pool degrades gracefully when the
// machine has fewer free cores than threads.
//
// Only one thread (the engine thread) submits work; parallel_for is not meant
// to be called concurrently from several threads on the same pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace pensieve::kernels {

class ThreadPool {
  public:
    // n_threads counts the calling thread too (1 = no workers). 0 picks
    // PENSIEVE_THREADS if set, else the number of hardware threads.
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(task, thread) for every task in [0, n_tasks), spread over all
    // threads (the caller is thread 0), and returns when all are done. Tasks
    // are handed out one at a time from a shared counter, so uneven tasks
    // balance themselves.
    template <typename Fn>
    void parallel_for(int64_t n_tasks, Fn&& fn) {
        using F = std::remove_reference_t<Fn>;
        const TaskFn call = [](void* ctx, int64_t task, int thread) {
            (*static_cast<F*>(ctx))(task, thread);
        };
        void* ctx = const_cast<void*>(static_cast<const void*>(&fn));
        if (records_ != nullptr) {
            run_recorded(n_tasks, call, ctx);
        } else {
            run(n_tasks, call, ctx);
        }
    }

    // One call as the work-split model sees it (engine/speed_bench.hpp): the
    // CPU time of each task, in task order, and the weight bytes the call
    // reads where its caller said so (note_bytes; 0 otherwise).
    struct CallRecord {
        std::vector<double> task_seconds;
        uint64_t bytes = 0;
    };

    // Records every later call into *out; nullptr stops. Each task is timed
    // by its thread's CPU clock, so records taken with more threads than
    // cores hold what the tasks cost, not how long they waited for a core.
    void record_calls(std::vector<CallRecord>* out) { records_ = out; }

    // The weight bytes the next call reads, for its record (a no-op unless
    // recording).
    void note_bytes(uint64_t bytes) {
        if (records_ != nullptr) next_bytes_ = bytes;
    }

    // PENSIEVE_THREADS, or the hardware thread count (at least 1).
    static int default_threads();

  private:
    using TaskFn = void (*)(void* ctx, int64_t task, int thread);
    void run(int64_t n_tasks, TaskFn fn, void* ctx);
    void run_recorded(int64_t n_tasks, TaskFn fn, void* ctx);
    void run_chunk(int64_t first, int64_t n_tasks);
    void worker_loop(int thread);
    void work(int thread, uint64_t job);

    // The cursor packs the job number, its task count and the next task
    // index into one word, so a worker that wakes late for a finished job
    // can never claim a task of the next one: its compare-exchange fails as
    // soon as the job number moved on. The submitter therefore never waits
    // for slow workers to leave a job (on a loaded machine that wait cost a
    // scheduler wake-up, ~50 µs, per call).
    static constexpr int kIndexBits = 20;  // tasks per chunk < 2^20
    static constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
    static uint64_t pack(uint64_t job, uint64_t n, uint64_t index) {
        return (job << (2 * kIndexBits)) | (n << kIndexBits) | index;
    }

    std::vector<std::thread> workers_;
    // The current job's function; written before the cursor publishes it.
    TaskFn fn_ = nullptr;
    void* ctx_ = nullptr;
    int64_t first_task_ = 0;  // task number of the chunk's index 0
    uint64_t job_ = 0;        // submitter's count of published chunks
    alignas(64) std::atomic<uint64_t> cursor_{0};
    alignas(64) std::atomic<uint64_t> generation_{0};  // bumped per job; workers sleep on it
    alignas(64) std::atomic<int64_t> done_tasks_{0};
    std::atomic<bool> stop_{false};

    std::vector<CallRecord>* records_ = nullptr;
    uint64_t next_bytes_ = 0;
};

}  // namespace pensieve::kernels
