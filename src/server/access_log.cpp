#include "server/access_log.hpp"

#include <cmath>

#include "server/log.hpp"

namespace pensieve::server {

namespace {
thread_local RequestRecord t_scratch;
thread_local RequestRecord* t_current = nullptr;
}  // namespace

RequestRecord& current_request() {
    return t_current != nullptr ? *t_current : t_scratch;
}

void serve_request(RequestRecord* record) {
    t_current = record;
}

void begin_request(const std::string& request_id) {
    RequestRecord& r = current_request();
    r = RequestRecord{};
    r.request_id = request_id;
    r.received = RequestRecord::Clock::now();
    r.active = true;
}

void write_access_line(const RequestRecord& r, const AccessLine& a) {
    if (!log_enabled(LogLevel::Info)) return;
    // Unknown values (no generation happened) are null, not a fake zero.
    using Json = nlohmann::ordered_json;
    auto ms = [](double seconds) {
        return seconds < 0 ? Json() : Json(std::round(seconds * 1e6) / 1e3);  // µs resolution
    };
    auto count = [](int64_t n) { return n < 0 ? Json() : Json(n); };
    Json f;
    f["request_id"] = r.request_id;
    f["method"] = a.method;
    f["route"] = a.route;
    if (a.route == "other") f["path"] = a.path.substr(0, 256);
    f["status"] = a.status;
    f["duration_ms"] = ms(a.duration_seconds);
    if (!r.model.empty()) {
        f["model"] = r.model;
        if (!r.requested_model.empty()) f["requested_model"] = r.requested_model;
        f["stream"] = r.stream;
        f["prompt_tokens"] = count(r.prompt_tokens);
        f["cached_tokens"] = count(r.cached_tokens);
        f["output_tokens"] = count(r.output_tokens);
        f["ttft_ms"] = ms(r.ttft_seconds);
        f["prefill_ms"] = ms(r.prefill_seconds);
        f["decode_ms"] = ms(r.decode_seconds);
        f["stop_reason"] = r.stop_reason.empty() ? Json() : Json(r.stop_reason);
    }
    if (!a.error_type.empty()) f["error_type"] = a.error_type;
    log_event(LogLevel::Info, "done", f);
}

}  // namespace pensieve::server
