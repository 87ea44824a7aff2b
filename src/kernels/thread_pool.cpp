// Persistent worker threads: a generation counter wakes the workers for each
// job, a tagged cursor (job, task count, next index) hands out its tasks, and
// a done counter tells the submitter the job is finished.
#include "kernels/thread_pool.hpp"

#include <time.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

namespace pensieve::kernels {
namespace {

// How long a waiter polls before sleeping in the kernel. Calls in a forward
// pass come every few tens of microseconds, but a matmul's last task can
// leave the other threads waiting 100 µs or more; a wait that ends in a
// futex sleep costs a scheduler wake-up on top. The budget is time, not a
// count of pause instructions, whose length differs between CPUs by an
// order of magnitude (2,000 took 25 µs on the 2-core Xeon). There, a
// `pensieve bench -p 16 -g 32 -r 3` of the Qwen3-30B-A3B shape switched
// context ~12,000 times with 2,000 pauses and ~550 times with 250 µs, and
// decode gained 4-5% (11.0 -> 11.5 tok/s; Llama-3.2-1B Q4_K_M 29.4 -> 31.1).
constexpr auto kSpin = std::chrono::microseconds(250);

inline void cpu_relax() {
    __builtin_ia32_pause();
}

// Waits until pred() holds: spins for up to kSpin (reading the clock every
// 64 polls), then sleeps on `word` until it changes (the side that makes
// pred() true must notify `word`).
template <typename T, typename Pred>
void await(std::atomic<T>& word, Pred pred) {
    if (pred()) return;  // often already true: no clock read
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spin = 0;; ++spin) {
        if (pred()) return;
        cpu_relax();
        if (spin % 64 == 63 && std::chrono::steady_clock::now() >= until) break;
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
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& w : workers_) w.join();
}

// Claims and runs tasks of `job` until none are left or a newer job began.
void ThreadPool::work(int thread, uint64_t job) {
    for (;;) {
        uint64_t cur = cursor_.load(std::memory_order_acquire);
        uint64_t index = 0, n = 0;
        for (;;) {
            if ((cur >> (2 * kIndexBits)) != job) return;
            n = (cur >> kIndexBits) & kIndexMask;
            index = cur & kIndexMask;
            if (index >= n) return;
            if (cursor_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
                break;
            }
        }
        // The job cannot end while this task is unfinished, so fn_, ctx_ and
        // first_task_ still belong to it.
        fn_(ctx_, first_task_ + static_cast<int64_t>(index), thread);
        if (done_tasks_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<int64_t>(n)) {
            done_tasks_.notify_all();
        }
    }
}

void ThreadPool::run_chunk(int64_t first, int64_t n_tasks) {
    first_task_ = first;
    done_tasks_.store(0, std::memory_order_relaxed);
    job_ = (job_ + 1) & ((uint64_t{1} << (64 - 2 * kIndexBits)) - 1);
    const uint64_t job = job_;
    cursor_.store(pack(job, static_cast<uint64_t>(n_tasks), 0), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    work(0, job);
    await(done_tasks_, [&] { return done_tasks_.load(std::memory_order_acquire) == n_tasks; });
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
    if (n_tasks <= 0) return;
    if (workers_.empty() || n_tasks == 1) {
        for (int64_t task = 0; task < n_tasks; ++task) fn(ctx, task, 0);
        return;
    }
    // Every task of the previous job has finished (run_chunk waited), so no
    // worker can be reading these while they change.
    fn_ = fn;
    ctx_ = ctx;
    constexpr auto kChunk = static_cast<int64_t>(kIndexMask);
    for (int64_t first = 0; first < n_tasks; first += kChunk) {
        run_chunk(first, std::min(kChunk, n_tasks - first));
    }
}

void ThreadPool::run_recorded(int64_t n_tasks, TaskFn fn, void* ctx) {
    const uint64_t bytes = next_bytes_;  // the note belongs to this call alone
    next_bytes_ = 0;
    if (n_tasks <= 0) return;
    CallRecord rec;
    rec.task_seconds.assign(static_cast<size_t>(n_tasks), 0.0);
    rec.bytes = bytes;
    struct Timed {
        TaskFn fn;
        void* ctx;
        double* seconds;
    } timed{fn, ctx, rec.task_seconds.data()};
    run(
        n_tasks,
        [](void* c, int64_t task, int thread) {
            auto* t = static_cast<Timed*>(c);
            timespec a{}, b{};
            ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
            t->fn(t->ctx, task, thread);
            ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
            t->seconds[task] = static_cast<double>(b.tv_sec - a.tv_sec) +
                               1e-9 * static_cast<double>(b.tv_nsec - a.tv_nsec);
        },
        &timed);
    records_->push_back(std::move(rec));
}

void ThreadPool::worker_loop(int thread) {
    uint64_t seen = 0;
    for (;;) {
        await(generation_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_relaxed)) return;
        work(thread, cursor_.load(std::memory_order_acquire) >> (2 * kIndexBits));
    }
}

}  // namespace pensieve::kernels
