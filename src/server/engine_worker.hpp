// The engine thread: owns the scheduler (model, KV cache) and runs its steps
// whenever there is work. HTTP threads only submit jobs and read their
// channels. Jobs wait in a bounded queue (a full queue is the caller's 529)
// and give up after the queue timeout.
//
// The thread never dies of an exception: a job that cannot run is answered
// at once (400 for a request that can never fit, 500 otherwise), a sequence
// that fails is answered alone (the scheduler isolates it), and a step that
// fails in a way no sequence can be blamed for fails the jobs in flight and
// leaves the engine empty and serving.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/scheduler.hpp"
#include "server/job.hpp"
#include "server/recent_rate.hpp"

namespace pensieve::server {

// Models' engines take turns at the cores. Each engine's step (one forward
// pass over its batch) runs on all --threads; the gate lets one step run at
// a time, in arrival order, so two busy models alternate steps instead of
// running 2 × --threads threads on the same cores. Idle engines never touch it.
class StepGate {
  public:
    void enter();
    void leave();

  private:
    std::mutex mutex_;
    std::condition_variable turn_;
    uint64_t next_ticket_ = 0;  // the ticket the next caller of enter() takes
    uint64_t serving_ = 0;      // the ticket whose step may run now
};

struct WorkerConfig {
    engine::SchedulerConfig scheduler;
    size_t max_queue = 64;                           // jobs waiting for admission
    std::chrono::milliseconds queue_timeout{60000};  // longest wait for admission
    // Longest the engine may go without finishing a step before the
    // handlers waiting on it give up (far above any one step's time).
    std::chrono::milliseconds stall_timeout{300000};
    // Shared by every model's worker (null: this worker runs alone).
    std::shared_ptr<StepGate> gate;
};

class EngineWorker {
  public:
    EngineWorker(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                 const WorkerConfig& config);
    ~EngineWorker();
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    // False (and nothing queued) when the queue is full or the worker stopped.
    bool submit(std::shared_ptr<Job> job);

    size_t queued() const { return waiting_.load(); }
    size_t running() const { return running_.load(); }
    int64_t kv_blocks_used() const { return kv_used_.load(); }
    int64_t kv_blocks_total() const { return kv_total_.load(); }
    int64_t kv_blocks_cached() const { return kv_cached_.load(); }
    int64_t prefix_tokens_reused() const { return reused_.load(); }
    int64_t kv_block_tokens() const { return kv_block_tokens_; }
    // Tokens the engine evaluated: totals and the recent per-second rates.
    RecentRate::Rates throughput() { return throughput_.rates(RecentRate::Clock::now()); }
    const WorkerConfig& config() const { return config_; }

    // Cancels queued and running jobs and joins the thread.
    void stop();

  private:
    void loop();
    void take_incoming();
    void beat();
    // Copies the scheduler's counts for the HTTP threads; returns them.
    engine::SchedulerStats publish_stats();

    WorkerConfig config_;
    engine::Scheduler scheduler_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> incoming_;
    bool stopping_ = false;
    std::atomic<size_t> waiting_{0};
    std::atomic<size_t> running_{0};
    std::atomic<int64_t> kv_used_{0};
    std::atomic<int64_t> kv_total_{0};
    std::atomic<int64_t> kv_cached_{0};
    std::atomic<int64_t> reused_{0};
    int64_t kv_block_tokens_ = 16;  // fixed by the KV pool; set before the thread starts
    RecentRate throughput_;
    std::shared_ptr<std::atomic<int64_t>> heartbeat_ = std::make_shared<std::atomic<int64_t>>(0);
    std::thread thread_;  // last: starts after everything above exists
};

}  // namespace pensieve::server
