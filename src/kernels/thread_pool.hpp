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
        run(
            n_tasks,
            [](void* ctx, int64_t task, int thread) { (*static_cast<F*>(ctx))(task, thread); },
            const_cast<void*>(static_cast<const void*>(&fn)));
    }

    // PENSIEVE_THREADS, or the hardware thread count (at least 1).
    static int default_threads();

  private:
    using TaskFn = void (*)(void* ctx, int64_t task, int thread);
    void run(int64_t n_tasks, TaskFn fn, void* ctx);
    void worker_loop(int thread);
    void work(int thread);

    std::vector<std::thread> workers_;
    // The current job; written by the submitter before `generation_` is bumped.
    TaskFn fn_ = nullptr;
    void* ctx_ = nullptr;
    int64_t n_tasks_ = 0;
    alignas(64) std::atomic<int64_t> next_task_{0};
    alignas(64) std::atomic<uint64_t> generation_{0};
    alignas(64) std::atomic<int64_t> done_tasks_{0};
    // Workers still inside the previous job; the next job waits for zero
    // before it overwrites fn_ / ctx_ / n_tasks_.
    alignas(64) std::atomic<int> busy_workers_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace pensieve::kernels
