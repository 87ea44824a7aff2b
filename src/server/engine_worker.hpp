// The engine thread: owns the generation session (model, KV cache) and runs
// queued jobs one at a time, first come first served. HTTP threads only
// submit jobs and read their channels. The queue is bounded: a full queue is
// the caller's 529.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "server/job.hpp"

namespace pensieve::server {

class EngineWorker {
  public:
    EngineWorker(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                 const engine::SessionConfig& config, size_t max_queue);
    ~EngineWorker();
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    // False (and nothing queued) when the queue is full or the worker stopped.
    bool submit(std::shared_ptr<Job> job);

    size_t queued() const;
    bool busy() const { return busy_.load(); }

    // Cancels queued and running jobs and joins the thread.
    void stop();

  private:
    void loop();
    void run(Job& job);

    engine::Session session_;
    size_t max_queue_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::shared_ptr<Job> current_;
    std::atomic<bool> busy_{false};
    bool stopping_ = false;
    std::thread thread_;  // last: starts after everything above exists
};

}  // namespace pensieve::server
