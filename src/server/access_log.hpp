// One line per request (the access log) and the facts it carries. Each
// request owns its record (http_daemon.hpp keeps it with the request); the
// daemon points this thread at it before any route code runs — the headers
// call, the handler, each piece of a streamed reply — so the routes fill in
// what they learn (model, tokens, time to first token, stop reason) through
// current_request() and the daemon's completion hook writes the line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pensieve::server {

struct RequestRecord {
    using Clock = std::chrono::steady_clock;
    std::string request_id;
    Clock::time_point received;
    bool active = false;          // set when the request's headers have arrived
    std::string model;            // the model that served it
    std::string requested_model;  // the name the client sent, when not that (an alias)
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
// Makes `record` the one current_request() answers on this thread (nullptr:
// a thread-local scratch record).
void serve_request(RequestRecord* record);
// Starts a fresh current record for a request arriving now.
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
