// POST /v1/chat/completions and POST /v1/completions: the OpenAI dialect
// over the shared generation path (generation.hpp).
#pragma once

#include "server/generation.hpp"
#include "server/http_message.hpp"

namespace pensieve::server {

void handle_chat_completions(const Request& req, Response& res, const RouteContext& ctx);

void handle_completions(const Request& req, Response& res, const RouteContext& ctx);

}  // namespace pensieve::server
