// The HTTP front door: routes, API-key check, body limit, request ids, JSON
// errors on every path, and the streaming (SSE) and non-streaming replies of
// /v1/messages. It never runs inference: it renders and tokenizes the prompt,
// hands a Job to the EngineWorker and relays the job's events.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/models_info.hpp"
#include "chat/prompt_tokens.hpp"
#include "server/engine_worker.hpp"
#include "server/metrics.hpp"

namespace httplib {
class Server;
}

namespace pensieve::server {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 7777;
    std::string api_key;  // empty: no authentication
    size_t max_body = size_t{32} << 20;
    size_t http_threads = 128;                      // concurrent connections served
    std::chrono::milliseconds ping_interval{5000};  // SSE keep-alive while the engine is silent
};

struct Serving {
    const chat::PromptBuilder& prompt;
    const tokenizer::Tokenizer& tokenizer;
    EngineWorker& worker;
    api::ServedModel model;
    int64_t n_ctx = 0;
    ServerInfo info;  // build and model facts for /metrics
};

class HttpServer {
  public:
    HttpServer(const ServerConfig& config, const Serving& serving);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds the address; returns false (with a message on stderr) when it cannot.
    bool bind();
    // Serves until stop(); returns when the listener has closed.
    void serve();
    void stop();
    int port() const { return port_; }

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace pensieve::server
