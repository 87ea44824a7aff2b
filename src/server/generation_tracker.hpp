// Follows one generation's events as the HTTP side receives them: queue
// wait, time to first token and the gaps between tokens go to the metrics
// histograms; the totals go to the request's access-log record. Both the
// streaming and the whole-reply paths feed it, so both are measured alike.
#pragma once

#include <chrono>
#include <string>

#include "engine/generate.hpp"
#include "server/job.hpp"
#include "server/metrics.hpp"

namespace pensieve::server {

class GenerationTracker {
  public:
    using Clock = std::chrono::steady_clock;
    GenerationTracker(ServerMetrics& metrics, std::string model, Clock::time_point received)
        : metrics_(metrics), model_(std::move(model)), received_(received) {}

    void started(const Job& job);
    void text();
    void done(const engine::GenerateResult& result, const std::string& stop_reason);
    // The client left or the generation was cancelled before it finished.
    void abandoned(const std::string& why);

  private:
    ServerMetrics& metrics_;
    std::string model_;  // the served model's id, for its metrics' label
    Clock::time_point received_;
    Clock::time_point last_text_{};
    bool any_text_ = false;
};

}  // namespace pensieve::server
