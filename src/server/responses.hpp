// Small helpers for writing JSON replies.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/ollama_response.hpp"
#include "api/openai_response.hpp"
#include "server/access_log.hpp"
#include "server/http_message.hpp"

namespace pensieve::server {

template <class Json>
void send_json(Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

inline void send_json(Response& res, int status, const nlohmann::json& body) {
    send_json<nlohmann::json>(res, status, body);
}

// The error envelope of the response's dialect (Anthropic's, with the
// response's request id, OpenAI's, or Ollama's). Client errors
// are marked not worth retrying (x-should-retry), so SDKs do not resend a
// request that can only fail again.
inline void send_error(Response& res, int status, const std::string& type,
                       const std::string& message) {
    current_request().error_type = type;  // for the access log
    if (status < 500 && status != 429 && status != 408 && status != 409) {
        res.set_header("x-should-retry", "false");
    }
    if (res.errors == ErrorEnvelope::OpenAi) {
        send_json(res, status, api::openai_error_body(status, type, message));
        return;
    }
    if (res.errors == ErrorEnvelope::Ollama) {
        send_json(res, status, api::ollama_error_body(message));
        return;
    }
    send_json(res, status, api::error_body(type, message, res.header("request-id")));
}

inline void send_error(Response& res, int status, const std::string& message) {
    send_error(res, status, api::error_type_for_status(status), message);
}

inline void send_error(Response& res, const api::ApiError& e) {
    send_error(res, e.status, e.type, e.what());
}

}  // namespace pensieve::server
