// The engine thread's loop: move submitted jobs into the scheduler, step it
// while it has work, sleep when it has none.
#include "server/engine_worker.hpp"

#include <cstdlib>

#include "server/log.hpp"

namespace pensieve::server {

namespace {

// The scheduler's test hook (see SchedulerConfig::fault_token).
engine::SchedulerConfig with_test_hooks(engine::SchedulerConfig c) {
    if (const char* v = std::getenv("PENSIEVE_TEST_FAULT_TOKEN"); v && *v) {
        c.fault_token = static_cast<int32_t>(std::strtol(v, nullptr, 10));
        log_event(LogLevel::Warn, "test hook: forward passes holding this token fail",
                  {{"token", c.fault_token}});
    }
    return c;
}

// Holds the gate, when there is one, for one step.
class GateTurn {
  public:
    explicit GateTurn(StepGate* gate) : gate_(gate) {
        if (gate_) gate_->enter();
    }
    ~GateTurn() {
        if (gate_) gate_->leave();
    }
    GateTurn(const GateTurn&) = delete;
    GateTurn& operator=(const GateTurn&) = delete;

  private:
    StepGate* gate_;
};

}  // namespace

void StepGate::enter() {
    std::unique_lock lock(mutex_);
    const uint64_t ticket = next_ticket_++;
    turn_.wait(lock, [&] { return serving_ == ticket; });
}

void StepGate::leave() {
    {
        std::lock_guard lock(mutex_);
        ++serving_;
    }
    turn_.notify_all();
}

EngineWorker::EngineWorker(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                           const WorkerConfig& config)
    : config_(config),
      scheduler_(model, tokenizer, with_test_hooks(config.scheduler)),
      kv_block_tokens_(scheduler_.stats().kv_block_tokens),
      thread_([this] { loop(); }) {}

void EngineWorker::beat() {
    heartbeat_->store(steady_ns(std::chrono::steady_clock::now()));
}

EngineWorker::~EngineWorker() {
    stop();
}

bool EngineWorker::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || waiting_.load() >= config_.max_queue) return false;
        job->submitted = std::chrono::steady_clock::now();
        // The engine drops a job whose wait passes the queue timeout; this
        // later deadline is the handler's own, should the engine not.
        job->admit_deadline = job->submitted + config_.queue_timeout + std::chrono::seconds(5);
        job->heartbeat = heartbeat_;
        job->stall_limit = config_.stall_timeout;
        incoming_.push_back(std::move(job));
        waiting_ += 1;
    }
    wake_.notify_one();
    return true;
}

void EngineWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

// Wraps a job in a scheduler task whose callbacks feed the job's channel.
void EngineWorker::take_incoming() {
    std::deque<std::shared_ptr<Job>> jobs;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(incoming_);
    }
    const auto timeout = config_.queue_timeout;
    for (auto& job : jobs) {
        auto task = std::make_unique<engine::SequenceTask>();
        task->request = job->request;
        task->request.cancelled = [job, timeout] {
            if (job->cancelled.load()) return true;
            return !job->admitted.load() &&
                   std::chrono::steady_clock::now() - job->submitted > timeout;
        };
        task->on_admitted = [this, job](int64_t cached_tokens) {
            job->admitted_at = std::chrono::steady_clock::now();
            job->cached_tokens = cached_tokens;
            job->admitted = true;
            waiting_ -= 1;
            job->push({JobEvent::Kind::Started, {}, {}, 0, {}, {}});
        };
        task->on_text = [job](std::string_view text) {
            job->push({JobEvent::Kind::Text, std::string(text), {}, 0, {}, {}});
            return !job->cancelled.load();
        };
        task->on_done = [this, job](const engine::GenerateResult& r) {
            if (!job->admitted.load()) {
                waiting_ -= 1;
                job->push(error_event(529, "overloaded_error",
                                      "timed out waiting for a free slot; retry shortly"));
                return;
            }
            job->push({JobEvent::Kind::Done, {}, r, 0, {}, {}});
        };
        task->on_error = [this, job](const std::string& what) {
            if (!job->admitted.load()) waiting_ -= 1;
            log_event(LogLevel::Error, "generation failed", {{"error", what}});
            job->push(error_event(500, "api_error", "internal error during generation"));
        };
        try {
            scheduler_.add(std::move(task));
        } catch (const engine::ContextError& e) {
            waiting_ -= 1;
            job->push(error_event(400, "invalid_request_error",
                                  "prompt is too long: " + std::to_string(e.prompt_tokens) +
                                      " tokens > " + std::to_string(e.n_ctx - 1) + " maximum"));
        } catch (const engine::KvPoolError& e) {
            waiting_ -= 1;
            job->push(error_event(400, "invalid_request_error",
                                  "prompt + max_tokens need " + std::to_string(e.needed_tokens) +
                                      " tokens of KV cache, more than the server's whole pool of " +
                                      std::to_string(e.pool_tokens) +
                                      " (--kv-tokens); lower max_tokens or shorten the prompt"));
        } catch (const std::invalid_argument& e) {
            waiting_ -= 1;
            job->push(error_event(400, "invalid_request_error", e.what()));
        } catch (const std::exception& e) {
            waiting_ -= 1;
            log_event(LogLevel::Error, "could not queue a job", {{"error", e.what()}});
            job->push(error_event(500, "api_error", "internal error while queueing the request"));
        }
    }
}

engine::SchedulerStats EngineWorker::publish_stats() {
    const engine::SchedulerStats s = scheduler_.stats();
    running_ = static_cast<size_t>(s.running);
    kv_used_ = s.kv_blocks_used;
    kv_total_ = s.kv_blocks_total;
    kv_cached_ = s.kv_blocks_cached;
    reused_ = s.prefix_tokens_reused;
    return s;
}

void EngineWorker::loop() {
    publish_stats();
    for (;;) {
        beat();
        bool worked = false;
        try {
            take_incoming();
            // An engine with nothing to evaluate steps without a turn.
            const engine::SchedulerStats before = scheduler_.stats();
            const bool has_work = before.running > 0 || before.waiting > 0;
            const GateTurn turn(has_work ? config_.gate.get() : nullptr);
            worked = scheduler_.step();
        } catch (const std::exception& e) {
            // The scheduler keeps failures with their sequences; reaching
            // here means it could not, so nothing in flight can be trusted.
            log_event(LogLevel::Error, "engine step failed; failing the jobs in flight",
                      {{"error", e.what()}});
            scheduler_.fail_all(e.what());
            worked = true;
        }
        const engine::SchedulerStats s = publish_stats();
        if (worked) {
            throughput_.add(std::chrono::steady_clock::now(), s.last_step_prefill_tokens,
                            s.last_step_decode_tokens);
        }
        std::unique_lock lock(mutex_);
        if (stopping_) {
            lock.unlock();
            take_incoming();
            scheduler_.cancel_all();
            publish_stats();
            return;
        }
        if (!worked && incoming_.empty()) {
            // Idle, or only waiting jobs: wake for new jobs, or to re-check
            // queue timeouts and cancellations now and then.
            wake_.wait_for(lock, std::chrono::milliseconds(50));
        }
    }
}

}  // namespace pensieve::server
