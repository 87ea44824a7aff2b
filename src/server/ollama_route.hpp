// Ollama's API: POST /api/chat and /api/generate over the shared generation
// path (generation.hpp), streamed as NDJSON unless `stream` is false; GET
// /api/tags, GET /api/ps, POST /api/show and GET /api/version describe the
// server.
#pragma once

#include "server/generation.hpp"
#include "server/http_message.hpp"

namespace pensieve::server {

void handle_ollama_chat(const Request& req, Response& res, const RouteContext& ctx);
void handle_ollama_generate(const Request& req, Response& res, const RouteContext& ctx);
// /api/tags: every servable model; /api/ps: the loaded ones.
void handle_ollama_tags(Response& res, const ModelPool& models);
void handle_ollama_ps(Response& res, const ModelPool& models);
void handle_ollama_show(const Request& req, Response& res, const ModelPool& models);
void handle_ollama_version(Response& res, const ServerInfo& info);

}  // namespace pensieve::server
