// A request and its response as the routes see them, apart from the HTTP
// library that reads and writes them (http_daemon.hpp): the routes fill a
// Response, with either a whole body or a BodyStream that produces the body
// piece by piece (Server-Sent Events).
#pragma once

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::server {

inline bool iequals(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline const std::string* find_header(const HeaderList& headers, std::string_view name) {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) return &value;
    }
    return nullptr;
}

struct Request {
    std::string method;
    std::string path;  // without the query string
    HeaderList headers;
    std::string body;
    int socket = -1;  // the connection's socket, to notice the client leaving

    // The header's value, or "" when it is absent.
    std::string header(std::string_view name) const {
        const std::string* v = find_header(headers, name);
        return v == nullptr ? std::string() : *v;
    }
    bool has_header(std::string_view name) const { return find_header(headers, name) != nullptr; }
};

// A streamed body. next() runs on the connection's thread and may block until
// it has something to send (the daemon runs one thread per connection).
class BodyStream {
  public:
    enum class Next {
        More,   // `out` has the next piece; call again
        End,    // `out` has the last piece (maybe empty); the body is complete
        Abort,  // the client left: close the connection
    };
    virtual ~BodyStream() = default;
    virtual Next next(std::string& out) = 0;
};

// Which API's error body a response's errors get: chosen by the front door
// from the request's path, before any check can fail.
enum class ErrorEnvelope { Anthropic, OpenAi, Ollama };

struct Response {
    int status = 0;  // 0: nothing answered (the client left before a reply)
    ErrorEnvelope errors = ErrorEnvelope::Anthropic;
    HeaderList headers;
    std::string content_type;
    std::string body;
    std::shared_ptr<BodyStream> stream;  // set: the body is streamed, chunked

    void set_header(const std::string& name, std::string value) {
        for (auto& [key, v] : headers) {
            if (iequals(key, name)) {
                v = std::move(value);
                return;
            }
        }
        headers.emplace_back(name, std::move(value));
    }
    std::string header(std::string_view name) const {
        const std::string* v = find_header(headers, name);
        return v == nullptr ? std::string() : *v;
    }
    bool has_header(std::string_view name) const { return find_header(headers, name) != nullptr; }
    void set_content(std::string content, std::string type) {
        body = std::move(content);
        content_type = std::move(type);
        stream.reset();
    }
};

}  // namespace pensieve::server
