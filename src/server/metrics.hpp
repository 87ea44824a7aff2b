// What /metrics reports: the HTTP side's counters and histograms (fed by the
// routes and the access logger) plus a snapshot of the engine and process
// taken at scrape time. Names follow Prometheus conventions: base units
// (seconds, bytes), _total for counters.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "server/prometheus.hpp"

namespace pensieve::server {

// Fixed facts about this server, set once at start-up.
struct ServerInfo {
    std::string version;
    std::string commit;
    std::string kernels;  // the kernel variant in use (ref, avx2, avx512, amx)
    std::string model;    // the served model's id
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

class ServerMetrics {
  public:
    explicit ServerMetrics(ServerInfo info);

    void request_finished(std::string_view route, int status, double seconds);
    void queue_wait(double seconds) { queue_wait_.observe(seconds); }
    void time_to_first_token(double seconds) { ttft_.observe(seconds); }
    void inter_token(double seconds) { inter_token_.observe(seconds); }
    void generation_finished(int64_t prompt_tokens, int64_t output_tokens,
                             std::string_view stop_reason);

    std::string render(const LiveGauges& live) const;

  private:
    ServerInfo info_;
    mutable std::mutex mutex_;  // guards the maps and counters below
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, prom::Histogram, std::less<>> duration_;
    std::map<std::string, uint64_t> stop_reasons_;
    uint64_t prompt_tokens_ = 0;
    uint64_t output_tokens_ = 0;
    prom::Histogram queue_wait_{prom::latency_buckets()};
    prom::Histogram ttft_{prom::latency_buckets()};
    prom::Histogram inter_token_{prom::token_gap_buckets()};
};

// The route label for a path: the route's pattern, never the raw path, so a
// client cannot grow the label set (one series per model id or typo).
std::string route_label(std::string_view path);

// Resident set size of this process, from /proc/self/statm (0 if unreadable).
int64_t resident_bytes();

}  // namespace pensieve::server
