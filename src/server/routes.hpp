// The routes the server answers, in one table: each path's method, the
// envelope its errors are written in and its metrics label. The dispatch,
// the access log and metrics, a 405's Allow header and the first checks'
// error envelope all read it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/http_message.hpp"

namespace pensieve::server {

enum class RouteId {
    Messages,
    CountTokens,
    ChatCompletions,
    Completions,
    Models,
    Model,  // /v1/models/{id}
    OllamaChat,
    OllamaGenerate,
    OllamaTags,
    OllamaPs,
    OllamaShow,
    OllamaVersion,
    Health,
    Metrics,
    Web,  // the web page: "/", "/status", "/assets/{file}"
};

struct Route {
    RouteId id;
    bool post;               // POST; otherwise GET and HEAD
    ErrorEnvelope envelope;  // OpenAI's on its routes, Ollama's on its own, else Anthropic's
    std::string_view label;  // the route's pattern, never a client's bytes beyond it
};

// The route of a path, whatever the method; nullopt: no such path (404).
// Only Ollama's own routes are Ollama's: Claude Code posts to other /api/
// paths (event logging) and reads their 404 in Anthropic's envelope.
std::optional<Route> find_route(std::string_view path);

// The envelope of a path's errors: its route's, Anthropic's for no route.
ErrorEnvelope error_envelope(std::string_view path);

// The metrics and access-log label of a path: its route's pattern, or
// "other", so that a client cannot grow the label set (one series per model
// id or typo).
std::string route_label(std::string_view path);

// The methods a route answers, for a 405's Allow header.
std::string_view allowed_methods(const Route& route);

}  // namespace pensieve::server
