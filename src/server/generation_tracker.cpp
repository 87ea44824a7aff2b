#include "server/generation_tracker.hpp"

#include "server/access_log.hpp"

namespace pensieve::server {

namespace {
double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}
}  // namespace

void GenerationTracker::started(const Job& job) {
    metrics_.queue_wait(model_, seconds(job.admitted_at - job.submitted));
}

void GenerationTracker::text() {
    const auto now = Clock::now();
    if (!any_text_) {
        any_text_ = true;
        const double ttft = seconds(now - received_);
        metrics_.time_to_first_token(model_, ttft);
        current_request().ttft_seconds = ttft;
    } else {
        metrics_.inter_token(model_, seconds(now - last_text_));
    }
    last_text_ = now;
}

void GenerationTracker::done(const engine::GenerateResult& r, const std::string& stop_reason) {
    RequestRecord& rec = current_request();
    rec.output_tokens = static_cast<int64_t>(r.output.size());
    rec.cached_tokens = r.cached_tokens;
    rec.prefill_seconds = r.prefill_seconds;
    rec.decode_seconds = r.decode_seconds;
    rec.stop_reason = stop_reason;
    metrics_.generation_finished(model_, rec.prompt_tokens, rec.output_tokens, stop_reason);
}

void GenerationTracker::abandoned(const std::string& why) {
    current_request().error_type = why;
}

}  // namespace pensieve::server
