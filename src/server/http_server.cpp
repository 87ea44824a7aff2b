// Routes and cross-cutting HTTP concerns. Every response, errors included,
// carries a request-id header and (for errors) the Anthropic JSON envelope.
#include "server/http_server.hpp"

#include <httplib.h>

#include <netinet/tcp.h>

#include <regex>

#include "api/messages_response.hpp"
#include "server/access_log.hpp"
#include "server/log.hpp"
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
    return route_label(path) != "other";
}

}  // namespace

struct HttpServer::Impl {
    ServerConfig config;
    Serving serving;
    httplib::Server http;
    ServerMetrics metrics;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    Impl(const ServerConfig& c, const Serving& s) : config(c), serving(s), metrics(s.info) {
        routes();
    }

    double uptime() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }

    LiveGauges live() const {
        LiveGauges g;
        g.running = static_cast<int64_t>(serving.worker.running());
        g.queued = static_cast<int64_t>(serving.worker.queued());
        g.kv_blocks_used = serving.worker.kv_blocks_used();
        g.kv_blocks_total = serving.worker.kv_blocks_total();
        g.kv_block_tokens = serving.worker.kv_block_tokens();
        g.kv_blocks_cached = serving.worker.kv_blocks_cached();
        g.prefix_tokens_reused = serving.worker.prefix_tokens_reused();
        const RecentRate::Rates rates = serving.worker.throughput();
        g.prefill_tokens_per_second = rates.prefill_per_second;
        g.decode_tokens_per_second = rates.decode_per_second;
        g.prefill_tokens_total = rates.prefill_total;
        g.decode_tokens_total = rates.decode_total;
        g.resident_bytes = resident_bytes();
        g.uptime_seconds = uptime();
        return g;
    }

    // Runs after every response has been written (a stream: after its last
    // event): counts it and writes its access-log line.
    void finished(const httplib::Request& req, const httplib::Response& res) {
        RequestRecord& record = current_request();
        if (!record.active) {
            // httplib answered before routing (a malformed request line).
            begin_request(res.get_header_value("request-id"));
        }
        const double seconds = std::chrono::duration<double>(RequestRecord::Clock::now() -
                                                             record.received)
                                   .count();
        const std::string route = route_label(req.path);
        metrics.request_finished(route, res.status, seconds);
        // send_error() and the streaming paths put the error type in the record.
        const std::string& error = record.error_type;
        // Probes and scrapes would drown the log at info level.
        const bool quiet = (route == "/health" || route == "/metrics") && res.status == 200;
        if (!quiet || log_enabled(LogLevel::Debug)) {
            write_access_line(record, {req.method, route, req.path, res.status, seconds, error});
        }
        record.active = false;
    }

    template <class Handler>
    auto guarded(Handler handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            try {
                handler(req, res);
            } catch (const api::ApiError& e) {
                send_error(res, e);
            } catch (const std::exception& e) {
                log_event(LogLevel::Error, "handler failed",
                          {{"request_id", res.get_header_value("request-id")},
                           {"route", route_label(req.path)},
                           {"error", e.what()}});
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
            begin_request(res.get_header_value("request-id"));
            if (req.path != "/health" && !authorized(req, config.api_key)) {
                send_error(res, 401, "authentication_error", "invalid or missing API key");
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
            if (!res.has_header("request-id")) {
                // Rejected before routing (e.g. a malformed request line).
                res.set_header("request-id", api::new_id("req_"));
                begin_request(res.get_header_value("request-id"));
            }
            if (res.body.empty() || res.get_header_value("Content-Type") != "application/json") {
                const int status = res.status;
                std::string message = status == 413
                                          ? "request body is larger than the server accepts"
                                      : status == 404 ? "no such route"
                                                      : "HTTP error " + std::to_string(status);
                send_error(res, status, api::error_type_for_status(status), message);
            }
        });
        http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            finished(req, res);
        });
        http.set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
                send_error(res, 500, "api_error", "internal error");
            });

        http.Post("/v1/messages", guarded([this](const auto& req, auto& res) {
                      handle_messages(req, res, serving, config, metrics);
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
        http.Get("/metrics", guarded([this](const auto&, auto& res) {
                     res.status = 200;
                     res.set_content(metrics.render(live()),
                                     "text/plain; version=0.0.4; charset=utf-8");
                 }));
        http.Get("/health", guarded([this](const auto&, auto& res) {
                     send_json(res, 200,
                               {{"status", "ok"},
                                {"model", serving.model.id},
                                {"uptime_seconds", uptime()},
                                {"in_flight", serving.worker.running()},
                                {"queued", serving.worker.queued()},
                                {"kv_blocks_used", serving.worker.kv_blocks_used()},
                                {"kv_blocks_total", serving.worker.kv_blocks_total()},
                                {"kv_blocks_cached", serving.worker.kv_blocks_cached()}});
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
