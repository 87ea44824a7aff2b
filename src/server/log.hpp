// The server's log: one line per event on stderr, as text for people or as
// JSON for log collectors (--log-format), filtered by --log-level. Lines are
// written with a single stdio call, so lines from different threads never
// interleave.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pensieve::server {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };
enum class LogFormat { Text, Json };

std::optional<LogLevel> parse_log_level(std::string_view name);
std::optional<LogFormat> parse_log_format(std::string_view name);

// Process-wide; set once at start-up, before any server thread runs.
void configure_log(LogLevel level, LogFormat format);
bool log_enabled(LogLevel level);

// Text: "pensieve: <level> <message> key=value ..." (strings with spaces are
// quoted). JSON: {"ts":..., "level":..., "msg":..., <fields>}.
void log_event(LogLevel level, std::string_view message, const nlohmann::ordered_json& fields = {});

}  // namespace pensieve::server
