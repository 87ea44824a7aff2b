// The HTTP front door: routes, API-key check, browser-origin protection,
// request ids, JSON errors on every path, and the routes of both API
// dialects (Anthropic Messages, OpenAI Chat Completions and Completions, Ollama) over
// one generation path (generation.hpp). It never runs inference: it renders
// and tokenizes the prompt, hands a Job to the EngineWorker and relays the
// job's events. Requests name their model; the ModelPool picks and loads
// it (model_pool.hpp). The connections themselves, and their limits, are
// http_daemon.hpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/http_daemon.hpp"
#include "server/metrics.hpp"
#include "server/model_pool.hpp"

namespace pensieve::server {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 7777;
    std::string api_key;                            // empty: no authentication
    DaemonLimits limits;                            // body, connections, headers, timeouts
    std::vector<std::string> allowed_hosts;         // Host names accepted besides loopback
    std::vector<std::string> allowed_origins;       // Origins accepted (and answered CORS)
    std::chrono::milliseconds ping_interval{5000};  // SSE keep-alive while the engine is silent
};

class HttpServer {
  public:
    // `info`: build facts and the default model's id, for /metrics.
    HttpServer(const ServerConfig& config, ModelPool& models, const ServerInfo& info);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Listens and serves on the daemon's own threads; returns false (with a
    // message on stderr) when it cannot.
    bool start();
    int port() const;

    // Graceful stop, step one: stop accepting; new requests on open
    // connections get 503; generations that end from here on because they
    // were cancelled are answered 503 / an SSE error event.
    void begin_shutdown();
    size_t in_flight() const;
    // Waits up to `grace` for the requests in flight; true if all finished.
    bool wait_idle(std::chrono::milliseconds grace);
    // Closes every connection and joins its thread.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pensieve::server
