// Engine throughput as /metrics reports it: totals since start, and tokens
// per wall-clock second over a sliding window of recent steps (so an idle
// engine reads 0, and a busy one its current speed).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

namespace pensieve::server {

class RecentRate {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kWindow{10};

    struct Rates {
        double prefill_per_second = 0;
        double decode_per_second = 0;
        int64_t prefill_total = 0;
        int64_t decode_total = 0;
    };

    void add(Clock::time_point t, int64_t prefill_tokens, int64_t decode_tokens) {
        std::lock_guard lock(mutex_);
        steps_.push_back({t, prefill_tokens, decode_tokens});
        totals_.prefill_total += prefill_tokens;
        totals_.decode_total += decode_tokens;
        prune(t);
    }

    Rates rates(Clock::time_point now) {
        std::lock_guard lock(mutex_);
        prune(now);
        Rates r = totals_;
        int64_t prefill = 0;
        int64_t decode = 0;
        for (const Step& s : steps_) {
            prefill += s.prefill;
            decode += s.decode;
        }
        const double window = std::chrono::duration<double>(kWindow).count();
        r.prefill_per_second = static_cast<double>(prefill) / window;
        r.decode_per_second = static_cast<double>(decode) / window;
        return r;
    }

  private:
    struct Step {
        Clock::time_point t;
        int64_t prefill;
        int64_t decode;
    };
    void prune(Clock::time_point now) {
        while (!steps_.empty() && now - steps_.front().t > kWindow) steps_.pop_front();
    }

    std::mutex mutex_;
    std::deque<Step> steps_;
    Rates totals_;
};

}  // namespace pensieve::server
