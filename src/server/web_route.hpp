// The built-in web page: the chat page at "/", the server page at "/status"
// and their scripts and styles under "/assets/". Served from the embedded
// files (web_assets.hpp) with a strict Content-Security-Policy: scripts and
// styles only from this server, no inline code, requests only to this
// server, so a model's output that slipped into the page as markup still
// could not run or phone home.
#pragma once

#include <string_view>

#include "server/http_message.hpp"

namespace pensieve::server {

// "/", "/status" or "/assets/...": a path the web page answers. These load
// without the API key (the page asks for the key itself); the API calls the
// page then makes still need it.
bool is_web_path(std::string_view path);

// The metrics label of a web path: "/", "/status" or "/assets/{file}".
std::string_view web_route_label(std::string_view path);

// Answers GET or HEAD of a web path: the file (200), 304 when the client's
// If-None-Match names its current ETag, or 404.
void handle_web(const Request& req, Response& res);

// The Content-Security-Policy every web page reply carries.
extern const char* const kWebContentSecurityPolicy;

}  // namespace pensieve::server
