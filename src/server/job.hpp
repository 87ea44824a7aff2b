// One generation request as the engine thread sees it, and the channel its
// results flow back through. The HTTP thread owns the connection; the engine
// thread owns the model; they meet only here.
//
// A handler never waits forever: pop() turns a missed deadline into an Error
// event (and cancels the job) — admission that takes longer than the queue
// timeout allows, or an engine that has not finished a step for
// `stall_limit` (it beats a heartbeat after every step and idle wait).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/generate.hpp"

namespace pensieve::server {

struct JobEvent {
    enum class Kind { Started, Text, Done, Error };
    Kind kind = Kind::Text;
    std::string text;               // Text: a decoded piece
    engine::GenerateResult result;  // Done
    int status = 500;               // Error: HTTP status and API error type
    std::string error_type;
    std::string error_message;
};

// Steady-clock nanoseconds of the engine loop's latest pass; shared by the
// worker and every job, so it outlives whichever goes first.
using Heartbeat = std::shared_ptr<const std::atomic<int64_t>>;

inline int64_t steady_ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline JobEvent error_event(int status, std::string type, std::string message) {
    JobEvent e;
    e.kind = JobEvent::Kind::Error;
    e.status = status;
    e.error_type = std::move(type);
    e.error_message = std::move(message);
    return e;
}

class Job {
  public:
    using Clock = std::chrono::steady_clock;

    engine::GenerateRequest request;
    std::atomic<bool> cancelled{false};  // set by the HTTP side when the client is gone
    std::atomic<bool> admitted{false};   // set by the engine when its KV is reserved
    Clock::time_point submitted;
    // Set by the engine before it pushes Started; read after popping it.
    Clock::time_point admitted_at;
    std::atomic<int64_t> cached_tokens{0};  // prompt tokens whose KV the prefix cache held
    // Set by EngineWorker::submit: the latest admission it may wait for, and
    // the engine heartbeat with the longest silence tolerated.
    Clock::time_point admit_deadline = Clock::time_point::max();
    Heartbeat heartbeat;
    std::chrono::milliseconds stall_limit{0};

    // Engine side.
    void push(JobEvent event) {
        {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(event));
        }
        ready_.notify_one();
    }

    // HTTP side: the next event, or nullopt after `timeout` without one; an
    // Error event once a deadline has passed (the job is then cancelled).
    std::optional<JobEvent> pop(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) {
            lock.unlock();
            return overdue(Clock::now());
        }
        JobEvent e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    // The Error a handler should answer with when the job is past a
    // deadline at `now`, else nullopt.
    std::optional<JobEvent> overdue(Clock::time_point now) {
        std::optional<JobEvent> e;
        if (!admitted.load() && now > admit_deadline) {
            e = error_event(529, "overloaded_error",
                            "timed out waiting for a free slot; retry shortly");
        } else if (heartbeat && stall_limit.count() > 0 &&
                   steady_ns(now) - heartbeat->load() >
                       std::chrono::nanoseconds(stall_limit).count()) {
            e = error_event(500, "api_error", "the inference engine stopped responding");
        }
        if (e) cancelled = true;
        return e;
    }

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<JobEvent> events_;
};

}  // namespace pensieve::server
