// Persistent worker threads: a generation counter announces each job, a
// shared task counter hands out its tasks, a done counter tells the submitter
// the job is finished, and a busy count tells the next job that every worker
// has left the previous one.
#include "kernels/thread_pool.hpp"

#include <cstdlib>
#include <string>

namespace pensieve::kernels {
namespace {

// How many times a waiter polls before sleeping in the kernel. Calls in a
// forward pass come every few tens of microseconds, so a short spin saves a
// futex round trip per call; anything longer sleeps.
constexpr int kSpinIterations = 2000;

inline void cpu_relax() {
    __builtin_ia32_pause();
}

// Waits until pred() holds: spins briefly, then sleeps on `word` until it
// changes (the side that makes pred() true must notify `word`).
template <typename T, typename Pred>
void await(std::atomic<T>& word, Pred pred) {
    for (int spin = 0; spin < kSpinIterations; ++spin) {
        if (pred()) return;
        cpu_relax();
    }
    for (;;) {
        const T seen = word.load(std::memory_order_acquire);
        if (pred()) return;
        word.wait(seen, std::memory_order_acquire);
    }
}

}  // namespace

int ThreadPool::default_threads() {
    if (const char* env = std::getenv("PENSIEVE_THREADS"); env != nullptr && *env != '\0') {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = default_threads();
    workers_.reserve(static_cast<size_t>(n_threads - 1));
    for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
    await(busy_workers_, [this] { return busy_workers_.load(std::memory_order_acquire) == 0; });
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& w : workers_) w.join();
}

void ThreadPool::work(int thread) {
    for (;;) {
        const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= n_tasks_) break;
        fn_(ctx_, task, thread);
        if (done_tasks_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_tasks_) {
            done_tasks_.notify_all();
        }
    }
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
    if (n_tasks <= 0) return;
    if (workers_.empty() || n_tasks == 1) {
        for (int64_t task = 0; task < n_tasks; ++task) fn(ctx, task, 0);
        return;
    }
    // Workers of the previous job may still be on their way out of work().
    await(busy_workers_, [this] { return busy_workers_.load(std::memory_order_acquire) == 0; });
    fn_ = fn;
    ctx_ = ctx;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    done_tasks_.store(0, std::memory_order_relaxed);
    busy_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the job
    generation_.notify_all();
    work(0);
    await(done_tasks_, [&] { return done_tasks_.load(std::memory_order_acquire) == n_tasks; });
}

void ThreadPool::worker_loop(int thread) {
    uint64_t seen = 0;
    for (;;) {
        await(generation_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_relaxed)) return;
        work(thread);
        if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) busy_workers_.notify_all();
    }
}

}  // namespace pensieve::kernels
