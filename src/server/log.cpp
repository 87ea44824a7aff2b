#include "server/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace pensieve::server {

namespace {

std::atomic<LogLevel> g_level{LogLevel::Info};
std::atomic<LogFormat> g_format{LogFormat::Text};

constexpr const char* kLevelNames[] = {"error", "warn", "info", "debug"};

// RFC 3339 UTC with milliseconds.
std::string timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];  // room for any int the format could print
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

std::string text_value(const nlohmann::ordered_json& v) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && s.find_first_of(" \"=\n") == std::string::npos) return s;
    }
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
    for (int i = 0; i < 4; ++i) {
        if (name == kLevelNames[i]) return static_cast<LogLevel>(i);
    }
    return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view name) {
    if (name == "text") return LogFormat::Text;
    if (name == "json") return LogFormat::Json;
    return std::nullopt;
}

void configure_log(LogLevel level, LogFormat format) {
    g_level = level;
    g_format = format;
}

bool log_enabled(LogLevel level) {
    return static_cast<int>(level) <= static_cast<int>(g_level.load());
}

void log_event(LogLevel level, std::string_view message, const nlohmann::ordered_json& fields) {
    if (!log_enabled(level)) return;
    const char* level_name = kLevelNames[static_cast<int>(level)];
    std::string line;
    if (g_format.load() == LogFormat::Json) {
        nlohmann::ordered_json j;
        j["ts"] = timestamp();
        j["level"] = level_name;
        j["msg"] = message;
        if (fields.is_object()) {
            for (const auto& [k, v] : fields.items()) j[k] = v;
        }
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        line = "pensieve: ";
        line += level_name;
        line += ' ';
        for (char c : message) line += c == '\n' ? ' ' : c;  // one event, one line
        if (fields.is_object()) {
            for (const auto& [k, v] : fields.items()) {
                line += ' ';
                line += k;
                line += '=';
                line += text_value(v);
            }
        }
    }
    line += '\n';
    std::fputs(line.c_str(), stderr);
}

}  // namespace pensieve::server
