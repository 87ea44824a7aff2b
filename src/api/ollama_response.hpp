// Responses in Ollama's shape: /api/chat and /api/generate replies, whole or
// as NDJSON lines (one JSON object a line, the last with done: true and the
// counts and durations), tool calls as whole calls with object arguments,
// the model listings of /api/tags, /api/ps and /api/show, and the {"error": "..."}
// envelope. Built from the same reply blocks as the other dialects.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/messages_response.hpp"
#include "api/models_info.hpp"
#include "api/reply_blocks.hpp"

namespace pensieve::api {

struct OllamaReply {
    enum class Kind { Chat, Generate };
    Kind kind = Kind::Chat;
    std::string model;
};

// What the final object reports besides the usage.
struct OllamaTimings {
    double prefill_seconds = 0;
    double decode_seconds = 0;
};

// "2024-01-01T12:00:00.123456789Z", now.
std::string ollama_timestamp();

// One NDJSON line.
std::string ndjson_line(const nlohmann::ordered_json& object);

std::shared_ptr<BlockFraming> ollama_framing(const OllamaReply& reply);

// The stream's last line (done: true) and the whole reply of a
// non-streaming request (the same object, with the whole message).
std::string ollama_stream_end(const OllamaReply& reply, const std::string& stop_reason,
                              const Usage& usage, const OllamaTimings& timings);
nlohmann::ordered_json ollama_reply_json(const OllamaReply& reply,
                                         const nlohmann::ordered_json& content,
                                         const std::string& stop_reason, const Usage& usage,
                                         const OllamaTimings& timings);
// A request with nothing to generate: Ollama's "load" answer.
nlohmann::ordered_json ollama_load_json(const OllamaReply& reply);

nlohmann::ordered_json ollama_error_body(const std::string& message);

// What /api/tags and /api/show say of the loaded model.
struct OllamaModelFacts {
    ServedModel model;
    int64_t file_bytes = 0;
    std::string architecture;  // the GGUF's general.architecture
};
nlohmann::ordered_json ollama_tags_json(const OllamaModelFacts& facts);
// /api/tags of several models (every servable one).
nlohmann::ordered_json ollama_tags_json(const std::vector<OllamaModelFacts>& models);
// /api/ps: the one model, always loaded (it never expires) and on the CPU
// (size_vram 0).
nlohmann::ordered_json ollama_ps_json(const OllamaModelFacts& facts);
// /api/ps of several models (the loaded ones; each stays until unloaded).
nlohmann::ordered_json ollama_ps_json(const std::vector<OllamaModelFacts>& models);
// /api/show: `parameters` holds "num_ctx <the server's context>".
nlohmann::ordered_json ollama_show_json(const OllamaModelFacts& facts, bool tools);

}  // namespace pensieve::api
