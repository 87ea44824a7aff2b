// The Prometheus text exposition format (version 0.0.4), written by hand:
// prometheus-cpp is not packaged in Debian 12 and the format is a few lines
// of rules. A Histogram is a thread-safe set of fixed buckets; TextWriter
// turns families of samples into the text a scraper reads.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::server::prom {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Histogram {
  public:
    // `upper_bounds` ascending; the +Inf bucket is implicit.
    explicit Histogram(std::vector<double> upper_bounds);
    Histogram(const Histogram& other);

    void observe(double value);

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
        uint64_t count = 0;
        double sum = 0;
    };
    Snapshot snapshot() const;

  private:
    mutable std::mutex mutex_;
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
    double sum_ = 0;
};

// Buckets for latencies from a millisecond to a few minutes.
std::vector<double> latency_buckets();
// Buckets for gaps between tokens: 1 ms to 2 s.
std::vector<double> token_gap_buckets();

class TextWriter {
  public:
    // Starts a metric family: its # HELP and # TYPE lines.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    // The _bucket / _sum / _count series of one labelled histogram.
    void histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& h);

    const std::string& text() const { return out_; }

  private:
    void labels(const Labels& labels, std::string_view extra_name = {},
                std::string_view extra_value = {});
    std::string out_;
};

// Exposition-format number: integers without a fraction, +Inf / -Inf / NaN.
std::string format_value(double v);

}  // namespace pensieve::server::prom
