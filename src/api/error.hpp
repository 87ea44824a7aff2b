// API errors: an HTTP status, the Anthropic error type, and a message, mapped
// once to the JSON envelope every route answers with.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace pensieve::api {

class ApiError : public std::runtime_error {
  public:
    ApiError(int http_status, std::string error_type, const std::string& message)
        : std::runtime_error(message), status(http_status), type(std::move(error_type)) {}
    int status;
    std::string type;  // e.g. "invalid_request_error"
};

inline ApiError invalid_request(const std::string& message) {
    return ApiError(400, "invalid_request_error", message);
}

// The Anthropic error type for an HTTP status (§4 of the API reference).
std::string error_type_for_status(int status);

// {"type":"error","error":{"type":...,"message":...},"request_id":...}
nlohmann::json error_body(const std::string& type, const std::string& message,
                          const std::string& request_id);

}  // namespace pensieve::api
