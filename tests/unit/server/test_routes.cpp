// The route table: labels are patterns a client cannot grow, each path has
// one method set and error envelope, and a path no route has is none.
#include <gtest/gtest.h>

#include <string>

#include "server/routes.hpp"

namespace pensieve::server {
namespace {

TEST(Routes, LabelsAreRoutePatterns) {
    EXPECT_EQ(route_label("/v1/messages"), "/v1/messages");
    EXPECT_EQ(route_label("/v1/messages/count_tokens"), "/v1/messages/count_tokens");
    EXPECT_EQ(route_label("/v1/models/any-model-id"), "/v1/models/{id}");
    EXPECT_EQ(route_label("/metrics"), "/metrics");
    EXPECT_EQ(route_label("/v1/chat/completions"), "/v1/chat/completions");
    EXPECT_EQ(route_label("/v1/completions"), "/v1/completions");
    EXPECT_EQ(route_label("/api/chat"), "/api/chat");
    EXPECT_EQ(route_label("/api/chatX"), "other");
    EXPECT_EQ(route_label("/v1/messagesX"), "other");
    EXPECT_EQ(route_label("/../etc/passwd"), "other");
    EXPECT_EQ(route_label("/"), "/");
    EXPECT_EQ(route_label("/status"), "/status");
    EXPECT_EQ(route_label("/assets/chat.js"), "/assets/{file}");
    EXPECT_EQ(route_label("/assets/no-such-file"), "/assets/{file}");
    EXPECT_EQ(route_label("/statusX"), "other");
}

TEST(Routes, AModelIdMustFollowTheModelsPrefix) {
    EXPECT_FALSE(find_route("/v1/models/").has_value());
    EXPECT_EQ(route_label("/v1/models/"), "other");
    ASSERT_TRUE(find_route("/v1/models/a/b").has_value());
    EXPECT_EQ(find_route("/v1/models/a/b")->id, RouteId::Model);
}

TEST(Routes, EachDialectWritesErrorsInItsOwnEnvelope) {
    EXPECT_EQ(find_route("/v1/messages")->envelope, ErrorEnvelope::Anthropic);
    EXPECT_EQ(find_route("/v1/chat/completions")->envelope, ErrorEnvelope::OpenAi);
    EXPECT_EQ(find_route("/v1/completions")->envelope, ErrorEnvelope::OpenAi);
    for (const char* path :
         {"/api/chat", "/api/generate", "/api/tags", "/api/ps", "/api/show", "/api/version"})
        EXPECT_EQ(find_route(path)->envelope, ErrorEnvelope::Ollama) << path;
    // Other /api/ paths are no route (Claude Code's event logging reads a 404).
    EXPECT_FALSE(find_route("/api/event_logging/batch").has_value());
}

TEST(Routes, AllowNamesTheMethodsOfTheRoute) {
    for (const char* path : {"/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions",
                             "/v1/completions", "/api/chat", "/api/generate", "/api/show"})
        EXPECT_EQ(allowed_methods(*find_route(path)), "POST") << path;
    for (const char* path : {"/v1/models", "/v1/models/x", "/api/tags", "/api/ps", "/api/version",
                             "/health", "/metrics", "/", "/status", "/assets/chat.js"})
        EXPECT_EQ(allowed_methods(*find_route(path)), "GET, HEAD") << path;
}

}  // namespace
}  // namespace pensieve::server
