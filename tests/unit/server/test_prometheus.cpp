// The exposition writer: number formatting, label escaping, and histogram
// series (cumulative buckets ending in +Inf == count).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "server/prometheus.hpp"

namespace pensieve::server::prom {
namespace {

TEST(PrometheusFormat, Numbers) {
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(42), "42");
    EXPECT_EQ(format_value(-3), "-3");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(1e20), "1e+20");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(PrometheusWriter, FamilyAndEscapedLabels) {
    TextWriter w;
    w.family("x_total", "counter", "Help with \\ and\nnewline");
    w.sample("x_total", {{"a", "quote\" back\\ nl\n"}, {"b", "plain"}}, 7);
    EXPECT_EQ(w.text(),
              "# HELP x_total Help with \\\\ and\\nnewline\n"
              "# TYPE x_total counter\n"
              "x_total{a=\"quote\\\" back\\\\ nl\\n\",b=\"plain\"} 7\n");
}

TEST(PrometheusWriter, SampleWithoutLabels) {
    TextWriter w;
    w.sample("g", {}, 1.5);
    EXPECT_EQ(w.text(), "g 1.5\n");
}

TEST(PrometheusHistogram, BucketsAreCumulativeAndInclusive) {
    Histogram h({1, 2, 5});
    for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 9.0}) h.observe(v);
    const Histogram::Snapshot s = h.snapshot();
    // le=1: 0.5, 1.0; le=2: +1.5, 2.0; le=5: +4.0; +Inf: +9.0
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 6}));
    EXPECT_EQ(s.count, 6u);
    EXPECT_DOUBLE_EQ(s.sum, 18.0);

    TextWriter w;
    w.histogram("lat", {{"route", "/r"}}, s);
    EXPECT_EQ(w.text(),
              "lat_bucket{route=\"/r\",le=\"1\"} 2\n"
              "lat_bucket{route=\"/r\",le=\"2\"} 4\n"
              "lat_bucket{route=\"/r\",le=\"5\"} 5\n"
              "lat_bucket{route=\"/r\",le=\"+Inf\"} 6\n"
              "lat_sum{route=\"/r\"} 18\n"
              "lat_count{route=\"/r\"} 6\n");
}

TEST(PrometheusHistogram, ConcurrentObservationsAreAllCounted) {
    Histogram h(latency_buckets());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&h] {
            for (int i = 0; i < 10000; ++i) h.observe(0.003);
        });
    }
    for (auto& t : threads) t.join();
    const auto s = h.snapshot();
    EXPECT_EQ(s.count, 40000u);
    EXPECT_EQ(s.cumulative.back(), 40000u);
}

}  // namespace
}  // namespace pensieve::server::prom
