// ServerMetrics' text: counters move by what was recorded, route labels
// cannot be grown by clients, gauges come from the live snapshot.
#include <gtest/gtest.h>

#include <string>

#include "server/metrics.hpp"
#include "server/recent_rate.hpp"

namespace pensieve::server {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Metrics, CountersAndGauges) {
    ServerInfo info;
    info.version = "1.2.3";
    info.commit = "abc";
    info.kernels = "ref";
    info.model = "m\"odel";
    info.model_bytes = 1000;
    ServerMetrics m(info);
    m.request_finished("/v1/messages", 200, 0.2);
    m.request_finished("/v1/messages", 200, 0.3);
    m.request_finished("/v1/messages", 400, 0.001);
    m.generation_finished("a", 10, 5, "end_turn");
    m.generation_finished("b", 7, 3, "max_tokens");
    m.time_to_first_token("a", 0.04);
    ModelGauges a;
    a.model = "a";
    a.engine.running = 2;
    a.engine.kv_blocks_used = 9;
    a.engine.kv_blocks_total = 64;
    a.model_bytes = 1000;
    ModelGauges b;
    b.model = "b";
    b.engine.running = 1;
    b.engine.kv_blocks_total = 32;
    b.model_bytes = 500;
    const std::string text = m.render(LiveGauges{}, {a, b});
    EXPECT_TRUE(
        has_line(text, "pensieve_http_requests_total{route=\"/v1/messages\",status=\"200\"} 2"));
    EXPECT_TRUE(
        has_line(text, "pensieve_http_requests_total{route=\"/v1/messages\",status=\"400\"} 1"));
    EXPECT_TRUE(has_line(text, "pensieve_prompt_tokens_total 17"));
    EXPECT_TRUE(has_line(text, "pensieve_generated_tokens_total 8"));
    EXPECT_TRUE(has_line(text, "pensieve_generations_total{stop_reason=\"end_turn\"} 1"));
    EXPECT_TRUE(has_line(text, "pensieve_time_to_first_token_seconds_count 1"));
    EXPECT_TRUE(
        has_line(text, "pensieve_http_request_duration_seconds_count{route=\"/v1/messages\"} 3"));
    // Unlabelled: the whole server; with a model label: each model.
    EXPECT_TRUE(has_line(text, "pensieve_sequences_running 3"));
    EXPECT_TRUE(has_line(text, "pensieve_sequences_running{model=\"a\"} 2"));
    EXPECT_TRUE(has_line(text, "pensieve_sequences_running{model=\"b\"} 1"));
    EXPECT_TRUE(has_line(text, "pensieve_kv_blocks_used 9"));
    EXPECT_TRUE(has_line(text, "pensieve_kv_blocks_capacity 96"));
    EXPECT_TRUE(has_line(text, "pensieve_kv_blocks_capacity{model=\"a\"} 64"));
    EXPECT_TRUE(has_line(text, "pensieve_model_bytes 1500"));
    EXPECT_TRUE(has_line(text, "pensieve_prompt_tokens_total{model=\"a\"} 10"));
    EXPECT_TRUE(has_line(text, "pensieve_generated_tokens_total{model=\"b\"} 3"));
    EXPECT_TRUE(
        has_line(text, "pensieve_generations_total{model=\"b\",stop_reason=\"max_tokens\"} 1"));
    EXPECT_TRUE(has_line(text, "pensieve_time_to_first_token_seconds_count{model=\"a\"} 1"));
    EXPECT_TRUE(has_line(text,
                         "pensieve_build_info{version=\"1.2.3\",commit=\"abc\",kernels=\"ref\","
                         "model=\"m\\\"odel\"} 1"));
}

TEST(Metrics, ResidentBytesIsPlausible) {
    const int64_t rss = resident_bytes();
    EXPECT_GT(rss, 1 << 20);
    EXPECT_LT(rss, int64_t{64} << 30);
}

TEST(RecentRate, CountsOnlyTheWindow) {
    RecentRate r;
    const auto t0 = RecentRate::Clock::now();
    r.add(t0, 100, 0);
    r.add(t0 + std::chrono::seconds(5), 0, 40);
    auto now = r.rates(t0 + std::chrono::seconds(6));
    EXPECT_DOUBLE_EQ(now.prefill_per_second, 10.0);  // 100 tokens over the 10 s window
    EXPECT_DOUBLE_EQ(now.decode_per_second, 4.0);
    const auto later = r.rates(t0 + std::chrono::seconds(12));
    EXPECT_DOUBLE_EQ(later.prefill_per_second, 0.0);  // the prefill step left the window
    EXPECT_DOUBLE_EQ(later.decode_per_second, 4.0);
    EXPECT_EQ(later.prefill_total, 100);
    EXPECT_EQ(later.decode_total, 40);
}

}  // namespace
}  // namespace pensieve::server
