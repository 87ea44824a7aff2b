// Keeps web pages out of a server that listens on loopback. A page can make a
// browser send requests to 127.0.0.1:7777 in two ways: through a name of its
// own that it points at 127.0.0.1 (DNS rebinding: the Host header carries
// that name), or as a cross-site "simple" request (a form or text/plain POST
// that needs no preflight: the Origin header names the page). So a request
// must name this server in Host, must carry no Origin but an allowed one, and
// a POST body must be JSON; CORS is answered for allowed origins only.
// The server's own web page is an allowed origin: its Origin is the address
// it was loaded from, which is the Host its requests name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.hpp"

namespace pensieve::server {

struct BrowserPolicy {
    std::string listen_host;                   // --host
    std::vector<std::string> allowed_hosts;    // --allowed-hosts: extra Host names
    std::vector<std::string> allowed_origins;  // --allowed-origins: scheme://host[:port]
};

class BrowserGuard {
  public:
    explicit BrowserGuard(const BrowserPolicy& policy);

    // Host names a loopback name, the address the client connected to, the
    // listen address or an allowed host (any port). A request without Host
    // (HTTP/1.0) passes: browsers always send one.
    bool host_allowed(const Request& req) const;
    // No Origin header, this server's own origin (the page it serves), or
    // an allowed one.
    bool origin_allowed(const Request& req) const;
    // An allowed origin's request: the CORS headers of the reply.
    void add_cors_headers(const Request& req, Response& res) const;
    // OPTIONS with Access-Control-Request-Method from an allowed origin.
    bool is_preflight(const Request& req) const;
    void answer_preflight(const Request& req, Response& res) const;

  private:
    // An Origin listed by --allowed-origins: these get CORS headers.
    bool listed_origin(const Request& req) const;

    std::vector<std::string> hosts_;    // normalized: lower case, IPv6 in brackets, no port
    std::vector<std::string> origins_;  // normalized: lower case, no trailing '/'
};

// Is `origin` the origin of a page this server served, seen from `host` (the
// Host header)? "http://127.0.0.1:7777" from "127.0.0.1:7777": yes. The
// server speaks plain HTTP, so an https:// origin is another site.
bool same_origin(std::string_view origin, std::string_view host);
// "Host: [::1]:7777" -> "[::1]"; lower case, without a trailing dot.
std::string host_name(std::string_view host_header);
// The media type of a Content-Type value: "Application/JSON; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type);
// Splits a comma-separated flag value, trimming blanks and dropping empty items.
std::vector<std::string> split_list(std::string_view list);

}  // namespace pensieve::server
