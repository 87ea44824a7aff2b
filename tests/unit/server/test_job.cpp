// A handler waiting on a job never waits forever: past the admission
// deadline, or once the engine's heartbeat has been silent too long, pop()
// answers with an Error event and cancels the job.
#include <gtest/gtest.h>

#include "server/job.hpp"

namespace pensieve::server {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<std::atomic<int64_t>> beating_now() {
    return std::make_shared<std::atomic<int64_t>>(steady_ns(Job::Clock::now()));
}

TEST(Job, AnEventWaitingIsReturnedBeforeAnyDeadlineIsChecked) {
    Job job;
    job.admit_deadline = Job::Clock::now() - 1s;  // already past
    job.push({JobEvent::Kind::Text, "hi", {}, 0, {}, {}});
    const auto e = job.pop(10ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, JobEvent::Kind::Text);
    EXPECT_FALSE(job.cancelled.load());
}

TEST(Job, NoEventAndNoDeadlinePassedIsJustATimeout) {
    Job job;
    job.admit_deadline = Job::Clock::now() + 60s;
    job.heartbeat = beating_now();
    job.stall_limit = 60s;
    EXPECT_FALSE(job.pop(10ms));
    EXPECT_FALSE(job.cancelled.load());
}

TEST(Job, AnAdmissionPastItsDeadlineIsA529AndCancelsTheJob) {
    Job job;
    job.admit_deadline = Job::Clock::now() - 1ms;
    const auto e = job.pop(10ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, JobEvent::Kind::Error);
    EXPECT_EQ(e->status, 529);
    EXPECT_EQ(e->error_type, "overloaded_error");
    EXPECT_TRUE(job.cancelled.load());
}

TEST(Job, ASilentEngineIsA500EvenForAnAdmittedJob) {
    Job job;
    job.admitted = true;
    auto beat = beating_now();
    beat->store(steady_ns(Job::Clock::now() - 10s));
    job.heartbeat = beat;
    job.stall_limit = 5s;
    const auto e = job.pop(10ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, 500);
    EXPECT_EQ(e->error_type, "api_error");
    EXPECT_TRUE(job.cancelled.load());
}

}  // namespace
}  // namespace pensieve::server
