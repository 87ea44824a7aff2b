#include "server/routes.hpp"

#include <array>

#include "server/web_route.hpp"

namespace pensieve::server {

namespace {

constexpr bool kPost = true;
constexpr bool kGet = false;

constexpr std::array kExact = {
    Route{RouteId::Messages, kPost, ErrorEnvelope::Anthropic, "/v1/messages"},
    Route{RouteId::CountTokens, kPost, ErrorEnvelope::Anthropic, "/v1/messages/count_tokens"},
    Route{RouteId::ChatCompletions, kPost, ErrorEnvelope::OpenAi, "/v1/chat/completions"},
    Route{RouteId::Completions, kPost, ErrorEnvelope::OpenAi, "/v1/completions"},
    Route{RouteId::Models, kGet, ErrorEnvelope::Anthropic, "/v1/models"},
    Route{RouteId::OllamaChat, kPost, ErrorEnvelope::Ollama, "/api/chat"},
    Route{RouteId::OllamaGenerate, kPost, ErrorEnvelope::Ollama, "/api/generate"},
    Route{RouteId::OllamaTags, kGet, ErrorEnvelope::Ollama, "/api/tags"},
    Route{RouteId::OllamaPs, kGet, ErrorEnvelope::Ollama, "/api/ps"},
    Route{RouteId::OllamaShow, kPost, ErrorEnvelope::Ollama, "/api/show"},
    Route{RouteId::OllamaVersion, kGet, ErrorEnvelope::Ollama, "/api/version"},
    Route{RouteId::Health, kGet, ErrorEnvelope::Anthropic, "/health"},
    Route{RouteId::Metrics, kGet, ErrorEnvelope::Anthropic, "/metrics"},
};

constexpr std::string_view kModelPrefix = "/v1/models/";

}  // namespace

std::optional<Route> find_route(std::string_view path) {
    for (const Route& route : kExact) {
        if (path == route.label) return route;
    }
    // A model id follows the prefix: "/v1/models/" alone names none.
    if (path.size() > kModelPrefix.size() && path.starts_with(kModelPrefix))
        return Route{RouteId::Model, kGet, ErrorEnvelope::Anthropic, "/v1/models/{id}"};
    if (is_web_path(path))
        return Route{RouteId::Web, kGet, ErrorEnvelope::Anthropic, web_route_label(path)};
    return std::nullopt;
}

ErrorEnvelope error_envelope(std::string_view path) {
    const std::optional<Route> route = find_route(path);
    return route ? route->envelope : ErrorEnvelope::Anthropic;
}

std::string route_label(std::string_view path) {
    const std::optional<Route> route = find_route(path);
    return route ? std::string(route->label) : "other";
}

std::string_view allowed_methods(const Route& route) {
    return route.post ? "POST" : "GET, HEAD";
}

}  // namespace pensieve::server
