// One generation request as the engine thread sees it, and the channel its
// results flow back through. The HTTP thread owns the connection; the engine
// thread owns the model; they meet only here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/session.hpp"

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

class Job {
  public:
    engine::GenerateRequest request;
    std::atomic<bool> cancelled{false};  // set by the HTTP side when the client is gone
    std::atomic<bool> admitted{false};   // set by the engine when its KV is reserved
    std::chrono::steady_clock::time_point submitted;
    // Set by the engine before it pushes Started; read after popping it.
    std::chrono::steady_clock::time_point admitted_at;

    // Engine side.
    void push(JobEvent event) {
        {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(event));
        }
        ready_.notify_one();
    }

    // HTTP side: the next event, or nullopt after `timeout` without one.
    std::optional<JobEvent> pop(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
        JobEvent e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<JobEvent> events_;
};

}  // namespace pensieve::server
