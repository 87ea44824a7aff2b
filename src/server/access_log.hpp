// One line per request (the access log) and the facts it carries. cpp-httplib
// runs a request start to finish on one thread — routing, handler, streaming
// content provider, then its logger — so the request in flight on a thread
// is kept in a thread-local record: the routes fill in what they learn
// (model, tokens, time to first token, stop reason) and the logger writes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pensieve::server {

struct RequestRecord {
    using Clock = std::chrono::steady_clock;
    std::string request_id;
    Clock::time_point received;
    bool active = false;  // set when routing starts; false for requests httplib rejected early
    std::string model;
    bool stream = false;
    int64_t prompt_tokens = -1;  // -1: not known (no generation)
    int64_t output_tokens = -1;
    int64_t cached_tokens = -1;
    double ttft_seconds = -1;
    double prefill_seconds = -1;
    double decode_seconds = -1;
    std::string stop_reason;
    std::string error_type;  // set for errors inside a 200 stream or a dropped client
};

// The record of the request this thread is serving.
RequestRecord& current_request();
// Starts a fresh record for a request arriving now.
void begin_request(const std::string& request_id);

struct AccessLine {
    std::string method;
    std::string route;
    std::string path;
    int status = 0;
    double duration_seconds = 0;
    std::string error_type;  // from the error body, or the record's own
};

// Writes the access line (at info level) for the current record.
void write_access_line(const RequestRecord& record, const AccessLine& line);

}  // namespace pensieve::server
