// Routes and cross-cutting HTTP concerns. Every response, errors included,
// carries a request-id header and (for errors) the Anthropic JSON envelope.
#include "server/http_server.hpp"

#include <httplib.h>

#include <netinet/tcp.h>

#include <cstdio>
#include <regex>

#include "api/messages_response.hpp"
#include "server/messages_route.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
    const size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

// Either header is accepted (API reference §1.1): x-api-key or a Bearer token.
bool authorized(const httplib::Request& req, const std::string& key) {
    if (key.empty()) return true;
    bool ok = constant_time_equal(req.get_header_value("x-api-key"), key);
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
        ok = constant_time_equal(std::string_view(auth).substr(kBearer.size()), key) || ok;
    }
    return ok;
}

// Routes that exist, for telling 405 (wrong method) from 404 (no such path).
bool known_path(const std::string& path) {
    return path == "/v1/messages" || path == "/v1/messages/count_tokens" || path == "/v1/models" ||
           path.rfind("/v1/models/", 0) == 0 || path == "/health";
}

}  // namespace

struct HttpServer::Impl {
    ServerConfig config;
    Serving serving;
    httplib::Server http;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    Impl(const ServerConfig& c, const Serving& s) : config(c), serving(s) { routes(); }

    template <class Handler>
    auto guarded(Handler handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            try {
                handler(req, res);
            } catch (const api::ApiError& e) {
                send_error(res, e);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "pensieve: %s %s failed: %s\n", req.method.c_str(),
                             req.path.c_str(), e.what());
                send_error(res, 500, "api_error", "internal error");
            }
        };
    }

    void routes() {
        // Every streaming client holds a handler thread for its whole reply,
        // so the pool must exceed the most concurrent clients expected.
        http.new_task_queue = [n = config.http_threads] { return new httplib::ThreadPool(n); };
        // Replies go out in several writes (headers, body, SSE events): without
        // TCP_NODELAY, Nagle's algorithm meets the client's delayed ACK and
        // holds them back ~40 ms. Accepted sockets inherit it on Linux.
        http.set_socket_options([](socket_t sock) {
            int one = 1;
            setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        });
        http.set_payload_max_length(config.max_body);
        http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            res.set_header("request-id", api::new_id("req_"));
            if (req.path != "/health" && !authorized(req, config.api_key)) {
                send_error(res, 401, "authentication_error", "invalid or missing API key");
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
            if (!res.has_header("request-id")) res.set_header("request-id", api::new_id("req_"));
            if (res.body.empty() || res.get_header_value("Content-Type") != "application/json") {
                const int status = res.status;
                std::string message = status == 413
                                          ? "request body is larger than the server accepts"
                                      : status == 404 ? "no such route"
                                                      : "HTTP error " + std::to_string(status);
                send_error(res, status, api::error_type_for_status(status), message);
            }
        });
        http.set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
                send_error(res, 500, "api_error", "internal error");
            });

        http.Post("/v1/messages", guarded([this](const auto& req, auto& res) {
                      handle_messages(req, res, serving, config);
                  }));
        http.Post("/v1/messages/count_tokens", guarded([this](const auto& req, auto& res) {
                      handle_count_tokens(req, res, serving);
                  }));
        http.Get("/v1/models", guarded([this](const auto&, auto& res) {
                     send_json(res, 200, api::models_list_json(serving.model));
                 }));
        http.Get(R"(/v1/models/(.+))", guarded([this](const httplib::Request& req, auto& res) {
                     if (req.matches[1] != serving.model.id) {
                         send_error(res, 404, "not_found_error",
                                    "model '" + std::string(req.matches[1]) + "' not found");
                         return;
                     }
                     send_json(res, 200, api::model_info_json(serving.model));
                 }));
        http.Get("/health", guarded([this](const auto&, auto& res) {
                     const double uptime =
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                             .count();
                     send_json(res, 200,
                               {{"status", "ok"},
                                {"model", serving.model.id},
                                {"uptime_seconds", uptime},
                                {"in_flight", serving.worker.running()},
                                {"queued", serving.worker.queued()},
                                {"kv_blocks_used", serving.worker.kv_blocks_used()},
                                {"kv_blocks_total", serving.worker.kv_blocks_total()}});
                 }));
        // Everything else: JSON 405 for a known path, JSON 404 otherwise.
        auto fallback = [](const httplib::Request& req, httplib::Response& res) {
            if (known_path(req.path)) {
                send_error(res, 405, "invalid_request_error",
                           "method " + req.method + " is not allowed on " + req.path);
            } else {
                send_error(res, 404, "not_found_error",
                           "no route for " + req.method + " " + req.path);
            }
        };
        http.Get(".*", fallback);
        http.Post(".*", fallback);
        http.Put(".*", fallback);
        http.Patch(".*", fallback);
        http.Delete(".*", fallback);
        http.Options(".*", fallback);
    }
};

HttpServer::HttpServer(const ServerConfig& config, const Serving& serving)
    : impl_(std::make_unique<Impl>(config, serving)) {}

HttpServer::~HttpServer() = default;

bool HttpServer::bind() {
    if (impl_->config.port == 0) {
        port_ = impl_->http.bind_to_any_port(impl_->config.host);
    } else {
        port_ = impl_->http.bind_to_port(impl_->config.host, impl_->config.port)
                    ? impl_->config.port
                    : -1;
    }
    if (port_ <= 0) {
        std::fprintf(stderr, "error: cannot listen on %s:%d\n", impl_->config.host.c_str(),
                     impl_->config.port);
        return false;
    }
    return true;
}

void HttpServer::serve() {
    impl_->http.listen_after_bind();
}

void HttpServer::stop() {
    impl_->http.stop();
}

}  // namespace pensieve::server
