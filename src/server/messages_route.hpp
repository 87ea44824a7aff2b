// POST /v1/messages and POST /v1/messages/count_tokens: the Anthropic
// dialect over the shared generation path (generation.hpp).
#pragma once

#include "server/generation.hpp"
#include "server/http_message.hpp"
#include "server/http_server.hpp"

namespace pensieve::server {

void handle_messages(const Request& req, Response& res, const RouteContext& ctx);

void handle_count_tokens(const Request& req, Response& res, const RouteContext& ctx);

}  // namespace pensieve::server
