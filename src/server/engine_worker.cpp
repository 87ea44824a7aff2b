// The engine thread's loop.
#include "server/engine_worker.hpp"

#include <cstdio>

namespace pensieve::server {

EngineWorker::EngineWorker(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                           const engine::SessionConfig& config, size_t max_queue)
    : session_(model, tokenizer, config), max_queue_(max_queue), thread_([this] { loop(); }) {}

EngineWorker::~EngineWorker() {
    stop();
}

bool EngineWorker::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= max_queue_) return false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

size_t EngineWorker::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void EngineWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        for (auto& job : queue_) {
            job->push({JobEvent::Kind::Error,
                       {},
                       {},
                       529,
                       "overloaded_error",
                       "server is shutting down"});
        }
        queue_.clear();
        if (current_) current_->cancelled = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void EngineWorker::loop() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = queue_.front();
            queue_.pop_front();
            current_ = job;
        }
        if (!job->cancelled) {
            busy_ = true;
            run(*job);
            busy_ = false;
        }
        std::lock_guard lock(mutex_);
        current_.reset();
    }
}

void EngineWorker::run(Job& job) {
    job.push({JobEvent::Kind::Started, {}, {}, 0, {}, {}});
    engine::GenerateRequest request = job.request;
    request.cancelled = [&job] { return job.cancelled.load(); };
    try {
        engine::GenerateResult result = session_.generate(request, [&job](std::string_view text) {
            job.push({JobEvent::Kind::Text, std::string(text), {}, 0, {}, {}});
            return !job.cancelled.load();
        });
        job.push({JobEvent::Kind::Done, {}, std::move(result), 0, {}, {}});
    } catch (const engine::ContextError& e) {
        job.push({JobEvent::Kind::Error,
                  {},
                  {},
                  400,
                  "invalid_request_error",
                  "prompt is too long: " + std::to_string(e.prompt_tokens) + " tokens > " +
                      std::to_string(e.n_ctx - 1) + " maximum"});
    } catch (const std::exception& e) {
        // One request failed; the engine and the other requests carry on.
        std::fprintf(stderr, "pensieve: generation failed: %s\n", e.what());
        session_.reset();
        job.push(
            {JobEvent::Kind::Error, {}, {}, 500, "api_error", "internal error during generation"});
    }
}

}  // namespace pensieve::server
