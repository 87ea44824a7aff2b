// Serves the embedded web page with its security and caching headers.
#include "server/web_route.hpp"

#include <string>

#include "server/responses.hpp"
#include "server/web_assets.hpp"

namespace pensieve::server {

namespace {

constexpr std::string_view kAssets = "/assets/";

// The embedded file a web path names ("" for none).
std::string_view file_for(std::string_view path) {
    if (path == "/") return "index.html";
    if (path == "/status") return "status.html";
    if (path.starts_with(kAssets)) return path.substr(kAssets.size());
    return {};
}

// Does an If-None-Match value ("a", "b" or *) name `etag`?
bool matches(std::string_view if_none_match, std::string_view etag) {
    if (if_none_match.find('*') != std::string_view::npos) return true;
    return if_none_match.find(etag) != std::string_view::npos;
}

}  // namespace

const char* const kWebContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

bool is_web_path(std::string_view path) {
    return path == "/" || path == "/status" || path.starts_with(kAssets);
}

std::string_view web_route_label(std::string_view path) {
    if (path.starts_with(kAssets)) return "/assets/{file}";
    return path;
}

void handle_web(const Request& req, Response& res) {
    const EmbeddedFile* file = find_web_file(file_for(req.path));
    if (file == nullptr) {
        send_error(res, 404, "not_found_error", "no route for " + req.method + " " + req.path);
        return;
    }
    res.set_header("Content-Security-Policy", kWebContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    // The files change only with the binary: a browser keeps its copy but
    // asks each time whether it is still current (a 304 costs a few bytes),
    // so a new build is never hidden behind a stale cache.
    res.set_header("Cache-Control", "no-cache");
    const std::string etag = "\"" + std::string(file->sha256.substr(0, 32)) + "\"";
    res.set_header("ETag", etag);
    if (matches(req.header("if-none-match"), etag)) {
        res.status = 304;
        return;
    }
    res.status = 200;
    res.set_content(
        std::string(reinterpret_cast<const char*>(file->bytes.data()), file->bytes.size()),
        content_type_for(file->name));
}

}  // namespace pensieve::server
