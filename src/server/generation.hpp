// The one generation path every dialect's route runs: a normalised request
// (api::MessagesRequest) → prompt tokens (tools rendered by the template or
// the built-in tool prompt; or a raw prompt) and, for tool calls or
// structured output, a grammar constraint → a Job on the engine worker →
// reply blocks (text and tool calls read out of the generated text), sent as
// one JSON reply or streamed as each piece is decoded. The core owns the
// client hang-up check, admission before a stream's 200, the shutdown's 503,
// metrics and the access-log record; a Dialect supplies only the wire
// format of the reply, its stream and its mid-stream errors. (Errors before
// the stream starts use the envelope the front door chose for the path: see
// responses.hpp.)
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/messages_request.hpp"
#include "api/messages_response.hpp"
#include "api/reply_blocks.hpp"
#include "server/http_message.hpp"
#include "server/http_server.hpp"
#include "server/metrics.hpp"

namespace pensieve::server {

struct RouteContext {
    ModelPool& models;  // the one place a request's `model` becomes a loaded model
    const ServerConfig& config;
    ServerMetrics& metrics;
    // Set once the server is shutting down: a cancelled generation is then
    // the shutdown's doing, answered 503 (or an SSE error event), not 529.
    const std::atomic<bool>& stopping;
};

// How a finished generation ended, in the core's terms (Anthropic's
// stop_reason: end_turn, tool_use, stop_sequence, max_tokens).
struct Outcome {
    std::string stop_reason;
    std::optional<std::string> stop_sequence;
    api::Usage usage;            // input_tokens excludes the cache_read_tokens
    double prefill_seconds = 0;  // the engine's own time on this request
    double decode_seconds = 0;
};

// One API dialect's wire format, made for one request.
class Dialect {
  public:
    virtual ~Dialect() = default;
    // How the reply's blocks are framed on a stream.
    virtual std::shared_ptr<api::BlockFraming> framing() = 0;
    // Once the job is admitted: the stream's first events.
    virtual std::string stream_start(const api::Usage& usage) = 0;
    // While the engine is silent, so the connection stays alive.
    virtual std::string ping() = 0;
    // After the blocks' last events.
    virtual std::string stream_end(const Outcome& outcome) = 0;
    virtual std::string stream_error(const std::string& type, const std::string& message) = 0;
    // The whole reply of a non-streaming request.
    virtual nlohmann::ordered_json whole(const nlohmann::ordered_json& content,
                                         const Outcome& outcome) = 0;
    // The Content-Type of a stream.
    virtual std::string stream_content_type() const { return "text/event-stream"; }
};

// Runs `r` on the model `lease` holds (ctx.models.acquire(r.model)) and
// answers it in `dialect`'s format; the lease is kept until the reply ends.
// Throws api::ApiError for a request that cannot run (the caller's front door
// answers it).
void generate(const Request& req, Response& res, const RouteContext& ctx, ModelLease lease,
              const api::MessagesRequest& r, std::unique_ptr<Dialect> dialect);

// The prompt's length in tokens, with every check generate() makes on tools
// and schemas (count_tokens).
int64_t count_prompt_tokens(const api::MessagesRequest& r, const Serving& serving);

}  // namespace pensieve::server
