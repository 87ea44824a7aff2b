// Error envelope of the Anthropic API.
#include "api/error.hpp"

namespace pensieve::api {

std::string error_type_for_status(int status) {
    switch (status) {
        case 400:
            return "invalid_request_error";
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 504:
            return "timeout_error";
        case 529:
            return "overloaded_error";
        default:
            return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

nlohmann::json error_body(const std::string& type, const std::string& message,
                          const std::string& request_id) {
    return {{"type", "error"},
            {"error", {{"type", type}, {"message", message}}},
            {"request_id", request_id}};
}

}  // namespace pensieve::api
