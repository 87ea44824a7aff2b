// POST /v1/messages and POST /v1/messages/count_tokens.
#pragma once

#include <atomic>

#include "server/http_message.hpp"
#include "server/http_server.hpp"
#include "server/metrics.hpp"

namespace pensieve::server {

struct RouteContext {
    const Serving& serving;
    const ServerConfig& config;
    ServerMetrics& metrics;
    // Set once the server is shutting down: a cancelled generation is then
    // the shutdown's doing, answered 503 (or an SSE error event), not 529.
    const std::atomic<bool>& stopping;
};

void handle_messages(const Request& req, Response& res, const RouteContext& ctx);

void handle_count_tokens(const Request& req, Response& res, const Serving& serving);

}  // namespace pensieve::server
