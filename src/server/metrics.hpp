// What /metrics reports: the HTTP side's counters and histograms (fed by the
// routes and the access logger) plus a snapshot of the engine and process
// taken at scrape time. Names follow Prometheus conventions: base units
// (seconds, bytes), _total for counters. Every engine and generation series
// comes once without labels (the whole server: the sum over its models, or
// for context, parallel sequences and load time the default model's) and
// once per model with a `model` label; sum the labelled ones, never both.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/prometheus.hpp"

namespace pensieve::server {

// Fixed facts about this server, set once at start-up (and about one
// loaded model, set when it loads).
struct ServerInfo {
    std::string version;
    std::string commit;
    std::string kernels;  // the kernel variant in use (ref, avx2, avx512, amx)
    std::string model;    // the default model's id
    int64_t model_bytes = 0;
    double model_load_seconds = 0;
    int64_t n_ctx = 0;
    int64_t n_parallel = 0;
};

// The engine and process as they are at scrape time.
struct LiveGauges {
    int64_t running = 0;
    int64_t queued = 0;
    int64_t kv_blocks_used = 0;
    int64_t kv_blocks_total = 0;
    int64_t kv_block_tokens = 0;
    int64_t kv_blocks_cached = 0;
    int64_t prefix_tokens_reused = 0;
    double prefill_tokens_per_second = 0;  // recent window
    double decode_tokens_per_second = 0;
    int64_t prefill_tokens_total = 0;  // every token the engine evaluated
    int64_t decode_tokens_total = 0;
    int64_t resident_bytes = 0;
    double uptime_seconds = 0;
};

// One loaded model at scrape time: its engine and its facts.
struct ModelGauges {
    std::string model;  // the model's id (its `model` label)
    LiveGauges engine;  // running … decode_tokens_total; the process fields unused
    int64_t model_bytes = 0;
    double model_load_seconds = 0;
    int64_t n_ctx = 0;
    int64_t n_parallel = 0;
};

class ServerMetrics {
  public:
    explicit ServerMetrics(ServerInfo info);

    void request_finished(std::string_view route, int status, double seconds);
    // Per generation, for the model that ran it (its id) and the total.
    void queue_wait(std::string_view model, double seconds);
    void time_to_first_token(std::string_view model, double seconds);
    void inter_token(std::string_view model, double seconds);
    void generation_finished(std::string_view model, int64_t prompt_tokens, int64_t output_tokens,
                             std::string_view stop_reason);

    // `process`: resident memory and uptime; `models`: each loaded model.
    std::string render(const LiveGauges& process, const std::vector<ModelGauges>& models) const;

  private:
    struct Generations {
        std::map<std::string, uint64_t> stop_reasons;
        uint64_t prompt_tokens = 0;
        uint64_t output_tokens = 0;
        prom::Histogram queue_wait{prom::latency_buckets()};
        prom::Histogram ttft{prom::latency_buckets()};
        prom::Histogram inter_token{prom::token_gap_buckets()};
    };
    // The model's and the total's, under mutex_.
    Generations& of(std::string_view model);

    ServerInfo info_;
    mutable std::mutex mutex_;  // guards the maps and counters below
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, prom::Histogram, std::less<>> duration_;
    Generations total_;
    // Bounded by the served models: ids come from the pool, never a request.
    std::map<std::string, Generations, std::less<>> per_model_;
};

// Resident set size of this process, from /proc/self/statm (0 if unreadable).
int64_t resident_bytes();

}  // namespace pensieve::server
