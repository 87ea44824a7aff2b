// POST /v1/messages and POST /v1/messages/count_tokens.
#pragma once

#include <httplib.h>

#include "server/http_server.hpp"
#include "server/metrics.hpp"

namespace pensieve::server {

void handle_messages(const httplib::Request& req, httplib::Response& res, const Serving& serving,
                     const ServerConfig& config, ServerMetrics& metrics);

void handle_count_tokens(const httplib::Request& req, httplib::Response& res,
                         const Serving& serving);

}  // namespace pensieve::server
