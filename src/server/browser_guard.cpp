// Host and Origin checks, and the CORS headers for allowed origins.
#include "server/browser_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace pensieve::server {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::ranges::transform(out, out.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A bare IPv6 address ("::1") as Host writes it ("[::1]").
std::string bracket_ipv6(std::string name) {
    if (name.find(':') != std::string::npos && !name.starts_with('[')) return "[" + name + "]";
    return name;
}

std::string normalize_origin(std::string_view origin) {
    std::string o = lower(trim(origin));
    while (!o.empty() && o.back() == '/') o.pop_back();
    return o;
}

// The address the client connected to, as Host would name it.
std::vector<std::string> local_names(int fd) {
    std::vector<std::string> names;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return names;
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        if (inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) != nullptr)
            names.emplace_back(text);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            in_addr v4{};
            std::memcpy(&v4, &a->sin6_addr.s6_addr[12], sizeof v4);
            if (inet_ntop(AF_INET, &v4, text, sizeof text) != nullptr) names.emplace_back(text);
        } else if (inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text) != nullptr) {
            names.push_back("[" + lower(text) + "]");
        }
    }
    return names;
}

bool is_wildcard(std::string_view host) {
    return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace

bool same_origin(std::string_view origin, std::string_view host) {
    const std::string h = lower(trim(host));
    return !h.empty() && normalize_origin(origin) == "http://" + h;
}

std::string host_name(std::string_view host_header) {
    std::string_view h = trim(host_header);
    if (h.starts_with('[')) {
        const size_t close = h.find(']');
        h = close == std::string_view::npos ? h : h.substr(0, close + 1);
    } else {
        const size_t colon = h.find(':');
        if (colon != std::string_view::npos) h = h.substr(0, colon);
    }
    std::string name = lower(h);
    if (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

std::string media_type(std::string_view content_type) {
    return lower(trim(content_type.substr(0, content_type.find(';'))));
}

std::vector<std::string> split_list(std::string_view list) {
    std::vector<std::string> items;
    while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return items;
}

BrowserGuard::BrowserGuard(const BrowserPolicy& policy) {
    hosts_ = {"localhost", "127.0.0.1", "[::1]"};
    if (!is_wildcard(policy.listen_host))
        hosts_.push_back(bracket_ipv6(host_name(policy.listen_host)));
    for (const std::string& h : policy.allowed_hosts) {
        // An entry may carry a port or not; only the name is compared.
        const std::string name = h.find(':') != h.rfind(':') && !h.starts_with('[')
                                     ? bracket_ipv6(lower(h))  // a bare IPv6 address
                                     : host_name(h);
        if (!name.empty()) hosts_.push_back(name);
    }
    for (const std::string& o : policy.allowed_origins) origins_.push_back(normalize_origin(o));
}

bool BrowserGuard::host_allowed(const Request& req) const {
    if (!req.has_header("host")) return true;
    const std::string name = host_name(req.header("host"));
    if (std::ranges::find(hosts_, name) != hosts_.end()) return true;
    const std::vector<std::string> local = local_names(req.socket);
    return std::ranges::find(local, name) != local.end();
}

bool BrowserGuard::listed_origin(const Request& req) const {
    return std::ranges::find(origins_, normalize_origin(req.header("origin"))) != origins_.end();
}

// A same-origin request passes only because host_allowed() has already
// refused a Host that is not this server: a page on another name (DNS
// rebinding) fails there.
bool BrowserGuard::origin_allowed(const Request& req) const {
    if (!req.has_header("origin")) return true;
    return same_origin(req.header("origin"), req.header("host")) || listed_origin(req);
}

// The page's own requests are not cross-origin and need no CORS headers.
void BrowserGuard::add_cors_headers(const Request& req, Response& res) const {
    if (!req.has_header("origin") || !listed_origin(req)) return;
    res.set_header("Access-Control-Allow-Origin", req.header("origin"));
    res.set_header("Access-Control-Expose-Headers", "request-id, retry-after, x-should-retry");
    res.set_header("Vary", "Origin");
}

bool BrowserGuard::is_preflight(const Request& req) const {
    return req.method == "OPTIONS" && req.has_header("origin") &&
           req.has_header("access-control-request-method") && listed_origin(req);
}

void BrowserGuard::answer_preflight(const Request& req, Response& res) const {
    res.status = 204;
    res.set_header("Access-Control-Allow-Origin", req.header("origin"));
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    // The origin is trusted: whatever headers its client sends (the SDKs
    // add several of their own) may come.
    if (req.has_header("access-control-request-headers")) {
        res.set_header("Access-Control-Allow-Headers",
                       req.header("access-control-request-headers"));
    }
    res.set_header("Access-Control-Max-Age", "600");
    res.set_header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
}

}  // namespace pensieve::server
