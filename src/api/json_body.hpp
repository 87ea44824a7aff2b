// A request body's JSON, parsed with the bounds of RequestLimits enforced while
// it is read: nesting depth, the number of values and the length of strings
// and keys. A body over a bound is rejected before any more of it is built, so
// a hostile shape (a million nested arrays, a million keys) costs no more than
// its bytes. Object keys keep the order they were sent in (tool schemas are
// printed back in that order); a repeated key keeps its first position and its
// last value, as Python's json module does.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/limits.hpp"

namespace pensieve::api {

// Throws ApiError (400 invalid_request_error) for invalid JSON or a bound
// exceeded; the message names the field path and the limit.
nlohmann::ordered_json parse_json_body(std::string_view text, const RequestLimits& limits);

}  // namespace pensieve::api
