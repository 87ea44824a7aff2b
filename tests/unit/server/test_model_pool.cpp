// ModelPool's loading and unloading, with a loader whose runtimes only hold
// memory figures (the pool reads no more of them while their leases are
// held): a request waiting to load a model keeps one deadline from its
// arrival, however many loads it queued behind.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/error.hpp"
#include "server/model_pool.hpp"

namespace pensieve::server {
namespace {

using Clock = std::chrono::steady_clock;

class HeldRuntime : public ModelRuntime {
  public:
    const Serving& serving() const override {
        throw std::logic_error("a held runtime is never served in these tests");
    }
    int64_t memory_bytes() const override { return 1; }
};

std::vector<ModelSpec> specs(std::initializer_list<const char*> names) {
    std::vector<ModelSpec> out;
    for (const char* name : names) {
        ModelSpec spec;
        spec.name = name;
        spec.path = std::string("/nonexistent/") + name;
        spec.file_bytes = 1;
        out.push_back(spec);
    }
    return out;
}

// The status of the ApiError acquire throws, and how long it took.
std::pair<int, double> refused(ModelPool& pool, const char* name) {
    const auto start = Clock::now();
    try {
        pool.acquire(name);
    } catch (const api::ApiError& e) {
        return {e.status, std::chrono::duration<double>(Clock::now() - start).count()};
    }
    return {0, std::chrono::duration<double>(Clock::now() - start).count()};
}

TEST(ModelPool, AWaiterBehindAnotherLoadKeepsOneDeadlineFromItsArrival) {
    const std::chrono::milliseconds wait{1000};
    int loads = 0;
    ModelPool pool(specs({"a", "b", "c"}), {}, PoolLimits{1, 0, wait},
                   [&](const ModelSpec&) -> std::unique_ptr<ModelRuntime> {
                       ++loads;
                       return std::make_unique<HeldRuntime>();
                   });
    // "a" is loaded and stays busy, so neither "b" nor "c" finds room.
    const ModelLease a = pool.acquire("a");
    ASSERT_EQ(loads, 1);
    // "b" takes the load lock and waits its whole deadline for room; "c",
    // arriving just after, waits behind it for the lock. Its deadline ran
    // from its arrival, so it gives up about when "b" does, not a whole
    // wait later (it waited up to twice the wait before).
    auto b = std::async(std::launch::async, [&] { return refused(pool, "b"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto c = std::async(std::launch::async, [&] { return refused(pool, "c"); });
    const auto [b_status, b_seconds] = b.get();
    const auto [c_status, c_seconds] = c.get();
    EXPECT_EQ(b_status, 529);
    EXPECT_EQ(c_status, 529);
    EXPECT_GE(b_seconds, 0.95);
    EXPECT_GE(c_seconds, 0.95);
    EXPECT_LT(c_seconds, 1.8) << "the wait behind the other load started a second deadline";
    EXPECT_EQ(loads, 1);
}

}  // namespace
}  // namespace pensieve::server
