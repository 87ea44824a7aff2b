// The HTTP front door: routes, API-key check, browser-origin protection,
// request ids, JSON errors on every path, and the routes of both API
// dialects (Anthropic Messages, OpenAI Chat Completions and Completions, Ollama) over
// one generation path (generation.hpp). It never runs inference: it renders
// and tokenizes the prompt, hands a Job to the EngineWorker and relays the
// job's events. The connections themselves, and their limits, are
// http_daemon.hpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/models_info.hpp"
#include "chat/prompt_tokens.hpp"
#include "chat/tools/tool_prompt.hpp"
#include "engine/grammar/grammar_cache.hpp"
#include "server/engine_worker.hpp"
#include "server/http_daemon.hpp"
#include "server/metrics.hpp"

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

// What the server does when a request leaves something unset (serve flags).
struct GenerationDefaults {
    float temperature = 1.0f;      // --temperature (the Anthropic API's own default)
    float repeat_penalty = 1.0f;   // --repeat-penalty (1: off)
    std::optional<uint64_t> seed;  // --seed: every request's sampler starts from it
    // --tool-choice, for requests with tools and no tool_choice: Auto, Any, or
    // First (Any while the conversation ends with the user's own words, Auto
    // once it ends with tool results: an agent's step acts, then may answer).
    enum class ToolChoice { Auto, Any, First };
    ToolChoice tool_choice = ToolChoice::Auto;
    int max_tool_calls = 0;  // --max-tool-calls: calls in one reply (0: no cap)
};

struct Serving {
    const chat::PromptBuilder& prompt;
    const tokenizer::Tokenizer& tokenizer;
    EngineWorker& worker;
    chat::ToolTemplateSupport tools;  // how the model's template takes tools
    grammar::GrammarCache& grammars;  // call and output grammars over the model's vocabulary
    api::ServedModel model;
    int64_t n_ctx = 0;
    ServerInfo info;  // build and model facts for /metrics
    GenerationDefaults defaults;
};

class HttpServer {
  public:
    HttpServer(const ServerConfig& config, const Serving& serving);
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
