// Routes and cross-cutting HTTP concerns. Every response, errors included,
// carries a request-id header and (for errors) the JSON envelope of the
// path's dialect: OpenAI's on the OpenAI routes, Ollama's on /api/, else
// Anthropic's.
// Checks run as soon as a request's headers are in, before its body is read:
// shutdown (503), Host and Origin (403), CORS preflight, API key (401),
// Content-Type and Content-Encoding (415); the daemon adds the size limits.
#include "server/http_server.hpp"

#include <atomic>

#include "api/messages_response.hpp"
#include "server/access_log.hpp"
#include "server/browser_guard.hpp"
#include "server/log.hpp"
#include "server/messages_route.hpp"
#include "server/ollama_route.hpp"
#include "server/openai_route.hpp"
#include "server/responses.hpp"
#include "server/routes.hpp"
#include "server/web_route.hpp"

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
bool authorized(const Request& req, const std::string& key) {
    if (key.empty()) return true;
    bool ok = constant_time_equal(req.header("x-api-key"), key);
    const std::string auth = req.header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
        ok = constant_time_equal(std::string_view(auth).substr(kBearer.size()), key) || ok;
    }
    return ok;
}

// SSE pings must come often enough that the daemon's inactivity timeout
// never ends a stream whose engine is busy with a long prefill.
ServerConfig effective(ServerConfig c) {
    const auto half =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.limits.read_timeout) / 2;
    c.ping_interval = std::min(c.ping_interval, std::max(half, std::chrono::milliseconds(100)));
    return c;
}

// One loaded model's engine as /metrics shows it.
ModelGauges gauges(const Serving& serving) {
    EngineWorker& worker = serving.worker;
    ModelGauges m;
    m.model = serving.model.id;
    LiveGauges& g = m.engine;
    g.running = static_cast<int64_t>(worker.running());
    g.queued = static_cast<int64_t>(worker.queued());
    g.kv_blocks_used = worker.kv_blocks_used();
    g.kv_blocks_total = worker.kv_blocks_total();
    g.kv_block_tokens = worker.kv_block_tokens();
    g.kv_blocks_cached = worker.kv_blocks_cached();
    g.prefix_tokens_reused = worker.prefix_tokens_reused();
    const RecentRate::Rates rates = worker.throughput();
    g.prefill_tokens_per_second = rates.prefill_per_second;
    g.decode_tokens_per_second = rates.decode_per_second;
    g.prefill_tokens_total = rates.prefill_total;
    g.decode_tokens_total = rates.decode_total;
    m.model_bytes = serving.info.model_bytes;
    m.model_load_seconds = serving.info.model_load_seconds;
    m.n_ctx = serving.info.n_ctx;
    m.n_parallel = serving.info.n_parallel;
    return m;
}

// A servable model as /v1/models lists it (facts from its file's header).
api::ServedModel served(const ModelSpec& spec) {
    return {spec.name, spec.display_name, spec.n_ctx};
}

}  // namespace

struct HttpServer::Impl : HttpHandler {
    ServerConfig config;
    ModelPool& models;
    ServerInfo info;
    ServerMetrics metrics;
    BrowserGuard guard;
    std::atomic<bool> stopping{false};
    RouteContext ctx{models, config, metrics, stopping};
    HttpDaemon daemon;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    Impl(const ServerConfig& c, ModelPool& m, const ServerInfo& i)
        : config(effective(c)),
          models(m),
          info(i),
          metrics(i),
          guard({c.host, c.allowed_hosts, c.allowed_origins}),
          daemon(config.limits, *this) {}

    double uptime() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }

    std::string render_metrics() const {
        LiveGauges process;
        process.resident_bytes = resident_bytes();
        process.uptime_seconds = uptime();
        std::vector<ModelGauges> loaded;
        for (const ModelPool::State& s : models.states()) {
            if (s.runtime) loaded.push_back(gauges(s.runtime->serving()));
        }
        return metrics.render(process, loaded);
    }

    // The whole server's counts at the top (as with one model: the sums over
    // the loaded models), and each servable model's state.
    nlohmann::ordered_json health() const {
        int64_t running = 0;
        int64_t queued = 0;
        int64_t used = 0;
        int64_t total = 0;
        int64_t cached = 0;
        nlohmann::ordered_json each = nlohmann::ordered_json::array();
        for (const ModelPool::State& s : models.states()) {
            nlohmann::ordered_json m = {{"id", s.spec->name},
                                        {"state", s.runtime   ? "loaded"
                                                  : s.loading ? "loading"
                                                              : "unloaded"},
                                        {"loads", s.loads}};
            if (s.runtime) {
                const EngineWorker& w = s.runtime->serving().worker;
                m["in_flight"] = w.running();
                m["queued"] = w.queued();
                m["kv_blocks_used"] = w.kv_blocks_used();
                m["kv_blocks_total"] = w.kv_blocks_total();
                m["kv_blocks_cached"] = w.kv_blocks_cached();
                running += static_cast<int64_t>(w.running());
                queued += static_cast<int64_t>(w.queued());
                used += w.kv_blocks_used();
                total += w.kv_blocks_total();
                cached += w.kv_blocks_cached();
            }
            each.push_back(std::move(m));
        }
        return {
            {"status", "ok"},           {"model", info.model},        {"uptime_seconds", uptime()},
            {"in_flight", running},     {"queued", queued},           {"kv_blocks_used", used},
            {"kv_blocks_total", total}, {"kv_blocks_cached", cached}, {"models", each}};
    }

    // --- HttpHandler ---

    bool on_headers(const Request& req, Response& res) override {
        res.errors = error_envelope(req.path);
        if (stopping.load()) {
            send_error(res, 503, "api_error", "the server is shutting down");
            return true;
        }
        if (!guard.host_allowed(req)) {
            send_error(res, 403, "permission_error",
                       "Host '" + req.header("host").substr(0, 256) +
                           "' is not this server (allow it with --allowed-hosts)");
            return true;
        }
        if (!guard.origin_allowed(req)) {
            send_error(res, 403, "permission_error",
                       "Origin '" + req.header("origin").substr(0, 256) +
                           "' is not allowed (allow it with --allowed-origins)");
            return true;
        }
        guard.add_cors_headers(req, res);
        if (guard.is_preflight(req)) {
            guard.answer_preflight(req, res);
            return true;
        }
        // The web page loads without the key: it asks for it, then sends it
        // with every API call it makes.
        const std::optional<Route> found = find_route(req.path);
        const bool open = found && (found->id == RouteId::Health || found->id == RouteId::Web);
        if (!open && !authorized(req, config.api_key)) {
            send_error(res, 401, "authentication_error", "invalid or missing API key");
            return true;
        }
        if (req.method == "POST") {
            const std::string encoding = req.header("content-encoding");
            if (!encoding.empty() && !iequals(encoding, "identity")) {
                send_error(res, 415, "invalid_request_error",
                           "Content-Encoding '" + encoding.substr(0, 64) +
                               "' is not supported: send the body uncompressed");
                return true;
            }
            // A missing Content-Type is taken as JSON; one that says
            // otherwise (a form, text/plain: what a web page can send
            // without a preflight) is refused.
            if (req.has_header("content-type") &&
                media_type(req.header("content-type")) != "application/json") {
                send_error(res, 415, "invalid_request_error",
                           "Content-Type must be application/json, not '" +
                               req.header("content-type").substr(0, 64) + "'");
                return true;
            }
        }
        return false;
    }

    void on_request(Request& req, Response& res) override {
        try {
            route(req, res);
        } catch (const api::ApiError& e) {
            send_error(res, e);
        }
    }

    void on_error(const Request& req, Response& res, int status,
                  const std::string& message) override {
        res.errors = error_envelope(req.path);
        send_error(res, status, message);
    }

    // Counts the request and writes its access-log line, once its reply has
    // gone (a stream: after its last event) or its client has left.
    void on_finished(const Request& req, int status, Ending ending) override {
        RequestRecord& record = current_request();
        if (status == 0) status = 499;  // no reply of ours went out (nginx's code)
        if (ending != Ending::Delivered && record.error_type.empty()) {
            record.error_type = ending == Ending::ClientLeft ? "client_disconnected"
                                : ending == Ending::TimedOut ? "timeout"
                                : ending == Ending::Shutdown ? "shutdown"
                                                             : "connection_error";
        }
        const double seconds =
            std::chrono::duration<double>(RequestRecord::Clock::now() - record.received).count();
        const std::string route = route_label(req.path);
        metrics.request_finished(route, status, seconds);
        // Probes and scrapes would drown the log at info level.
        const bool quiet = (route == "/health" || route == "/metrics") && status == 200;
        if (!quiet || log_enabled(LogLevel::Debug)) {
            write_access_line(record,
                              {req.method, route, req.path, status, seconds, record.error_type});
        }
    }

    void route(const Request& req, Response& res) {
        const std::string& path = req.path;
        const std::optional<Route> found = find_route(path);
        if (!found) {
            send_error(res, 404, "not_found_error", "no route for " + req.method + " " + path);
            return;
        }
        const bool method_ok =
            found->post ? req.method == "POST" : req.method == "GET" || req.method == "HEAD";
        if (!method_ok) {
            const std::string allowed(allowed_methods(*found));
            res.set_header("Allow", allowed);
            send_error(res, 405, "invalid_request_error",
                       "method " + req.method + " is not allowed on " + path +
                           " (allowed: " + allowed + ")");
            return;
        }
        switch (found->id) {
            case RouteId::Messages:
                return handle_messages(req, res, ctx);
            case RouteId::CountTokens:
                return handle_count_tokens(req, res, ctx);
            case RouteId::ChatCompletions:
                return handle_chat_completions(req, res, ctx);
            case RouteId::Completions:
                return handle_completions(req, res, ctx);
            case RouteId::Models: {
                std::vector<api::ServedModel> all;
                for (const ModelSpec& spec : models.models()) all.push_back(served(spec));
                return send_json(res, 200, api::models_list_json(all));
            }
            case RouteId::Model:
                return send_model(res, path.substr(std::string_view("/v1/models/").size()));
            case RouteId::OllamaChat:
                return handle_ollama_chat(req, res, ctx);
            case RouteId::OllamaGenerate:
                return handle_ollama_generate(req, res, ctx);
            case RouteId::OllamaTags:
                return handle_ollama_tags(res, models);
            case RouteId::OllamaPs:
                return handle_ollama_ps(res, models);
            case RouteId::OllamaShow:
                return handle_ollama_show(req, res, models);
            case RouteId::OllamaVersion:
                return handle_ollama_version(res, info);
            case RouteId::Health:
                return send_json(res, 200, health());
            case RouteId::Metrics:
                res.status = 200;
                return res.set_content(render_metrics(),
                                       "text/plain; version=0.0.4; charset=utf-8");
            case RouteId::Web:
                return handle_web(req, res);
        }
    }

    void send_model(Response& res, const std::string& id) {
        const std::optional<size_t> i = models.find(id);
        if (!i) {
            send_error(res, 404, "not_found_error",
                       "model '" + id.substr(0, 256) +
                           "' not found; this server serves: " + models.servable_names());
            return;
        }
        send_json(res, 200, api::model_info_json(served(models.models()[*i])));
    }
};

HttpServer::HttpServer(const ServerConfig& config, ModelPool& models, const ServerInfo& info)
    : impl_(std::make_unique<Impl>(config, models, info)) {}

HttpServer::~HttpServer() = default;

bool HttpServer::start() {
    return impl_->daemon.start(impl_->config.host, impl_->config.port);
}

int HttpServer::port() const {
    return impl_->daemon.port();
}

void HttpServer::begin_shutdown() {
    impl_->stopping = true;
    impl_->daemon.quiesce();
}

size_t HttpServer::in_flight() const {
    return impl_->daemon.in_flight();
}

bool HttpServer::wait_idle(std::chrono::milliseconds grace) {
    return impl_->daemon.wait_idle(grace);
}

void HttpServer::stop() {
    impl_->daemon.stop();
}

}  // namespace pensieve::server
