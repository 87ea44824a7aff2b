// Log options parse; a disabled level writes nothing.
#include <gtest/gtest.h>

#include "server/log.hpp"

namespace pensieve::server {
namespace {

TEST(Log, ParsesLevelsAndFormats) {
    EXPECT_EQ(parse_log_level("error"), LogLevel::Error);
    EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
    EXPECT_FALSE(parse_log_level("verbose").has_value());
    EXPECT_EQ(parse_log_format("json"), LogFormat::Json);
    EXPECT_FALSE(parse_log_format("xml").has_value());
}

TEST(Log, LevelFilters) {
    configure_log(LogLevel::Warn, LogFormat::Text);
    EXPECT_TRUE(log_enabled(LogLevel::Error));
    EXPECT_TRUE(log_enabled(LogLevel::Warn));
    EXPECT_FALSE(log_enabled(LogLevel::Info));
    testing::internal::CaptureStderr();
    log_event(LogLevel::Info, "hidden");
    log_event(LogLevel::Warn, "two\nlines", {{"k", "a b"}, {"n", 3}});
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_EQ(out, "pensieve: warn two lines k=\"a b\" n=3\n");
    configure_log(LogLevel::Info, LogFormat::Text);
}

TEST(Log, JsonLinesAreObjects) {
    configure_log(LogLevel::Info, LogFormat::Json);
    testing::internal::CaptureStderr();
    log_event(LogLevel::Info, "done", {{"status", 200}});
    const std::string out = testing::internal::GetCapturedStderr();
    configure_log(LogLevel::Info, LogFormat::Text);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), '\n');
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["msg"], "done");
    EXPECT_EQ(j["status"], 200);
    EXPECT_TRUE(j["ts"].is_string());
}

}  // namespace
}  // namespace pensieve::server
