// `pensieve serve`: load a model and serve the Anthropic Messages API.
// SIGINT/SIGTERM stop accepting, cancel in-flight generation and exit 0.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "kernels/cpu.hpp"
#include "server/http_server.hpp"
#include "server/log.hpp"

namespace pensieve::cli {
namespace {

struct ServeOptions {
    ModelOptions model;
    server::ServerConfig server;
    server::WorkerConfig worker;
    size_t max_body_mb = 32;
    double queue_timeout_s = 60;
    int64_t kv_memory_mb = 0;  // alternative to --kv-tokens
    std::string log_level = "info";
    std::string log_format = "text";
};

void serve(ServeOptions o) {
    // Signals are taken by one thread with sigwait, so no handler runs inside
    // the server's threads; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    o.server.max_body = o.max_body_mb << 20;
    server::configure_log(*server::parse_log_level(o.log_level),
                          *server::parse_log_format(o.log_format));
    const auto load_start = std::chrono::steady_clock::now();
    const LoadedModel m = load_model(o.model);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const auto& hp = m.model->hparams();
    const int64_t n_ctx = std::min<int64_t>(o.model.ctx, hp.n_ctx_train);
    o.worker.scheduler.n_ctx = n_ctx;
    if (o.kv_memory_mb > 0) {
        // K and V, F16, every layer.
        const int64_t bytes_per_token = 2 * 2 * hp.n_layer * hp.kv_dim();
        o.worker.scheduler.kv_tokens =
            std::max<int64_t>(16, (o.kv_memory_mb << 20) / bytes_per_token);
    }
    o.worker.scheduler.n_threads = o.model.threads;
    o.worker.queue_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(o.queue_timeout_s * 1e3));
    server::EngineWorker worker(*m.model, *m.tokenizer, o.worker);
    const std::string model_id = m.model->file().get_string("general.name").value_or(hp.arch);
    api::ServedModel served{m.name, model_id, n_ctx};
    server::ServerInfo info;
    info.version = PENSIEVE_VERSION;
    info.commit = PENSIEVE_COMMIT;
    info.kernels = kernels::isa_name(kernels::active_isa());
    info.model = served.id;
    info.model_bytes = static_cast<int64_t>(std::filesystem::file_size(m.path));
    info.model_load_seconds = load_seconds;
    info.n_ctx = n_ctx;
    info.n_parallel = o.worker.scheduler.n_parallel;
    server::HttpServer http(o.server, {*m.prompt, *m.tokenizer, worker, served, n_ctx, info});
    if (!http.bind()) {
        set_exit_code(1);
        return;
    }
    std::printf("pensieve: serving %s (%s) on http://%s:%d\n", served.id.c_str(), hp.arch.c_str(),
                o.server.host.c_str(), http.port());
    std::printf(
        "pensieve: context %lld tokens, %lld parallel sequences, KV pool %lld tokens, "
        "kernels %s, chat template: %s%s\n",
        static_cast<long long>(n_ctx), static_cast<long long>(o.worker.scheduler.n_parallel),
        static_cast<long long>(worker.kv_blocks_total() * 16),
        std::string(kernels::isa_name(kernels::active_isa())).c_str(),
        chat::origin_name(m.prompt->model_template().origin),
        o.server.api_key.empty() ? "" : ", API key required");
    std::fflush(stdout);

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        std::printf("pensieve: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(stdout);
        worker.stop();  // cancels in-flight generation so handlers finish at once
        http.stop();
    });
    http.serve();
    // serve() can also return because the listener failed; wake the waiter.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
}

}  // namespace

void register_serve(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    CLI::App* cmd = app.add_subcommand("serve", "Serve a model over HTTP (Anthropic Messages API)");
    cmd->set_config("--config", "", "TOML/INI file with any of these options as keys");
    add_model_options(*cmd, o->model);
    cmd->add_option("--host", o->server.host, "Address to listen on")->envname("PENSIEVE_HOST");
    cmd->add_option("-p,--port", o->server.port, "Port (0: any free port)")
        ->envname("PENSIEVE_PORT")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--api-key", o->server.api_key, "Require this key (x-api-key or Bearer)")
        ->envname("PENSIEVE_API_KEY");
    cmd->add_option("--max-body", o->max_body_mb, "Largest request body, in MB")
        ->envname("PENSIEVE_MAX_BODY")
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--max-queue", o->worker.max_queue, "Requests waiting before 529")
        ->envname("PENSIEVE_MAX_QUEUE")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--queue-timeout", o->queue_timeout_s, "Seconds a request may wait before 529")
        ->envname("PENSIEVE_QUEUE_TIMEOUT")
        ->check(CLI::Range(0.001, 86400.0));
    cmd->add_option("--parallel", o->worker.scheduler.n_parallel,
                    "Most sequences generated at once")
        ->envname("PENSIEVE_PARALLEL")
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--kv-tokens", o->worker.scheduler.kv_tokens,
                    "KV cache pool in tokens (default: ctx × parallel)")
        ->envname("PENSIEVE_KV_TOKENS")
        ->check(CLI::Range(16, 1 << 24));
    cmd->add_option("--kv-memory", o->kv_memory_mb, "KV cache pool in MB (instead of --kv-tokens)")
        ->envname("PENSIEVE_KV_MEMORY")
        ->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--prefix-cache-tokens", o->worker.scheduler.prefix_cache_tokens,
                    "KV of finished requests kept for prompts that start alike, in tokens "
                    "(default: --ctx; 0: off)")
        ->envname("PENSIEVE_PREFIX_CACHE_TOKENS")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
    cmd->add_option("--log-level", o->log_level, "error, warn, info (one line per request) or debug")
        ->envname("PENSIEVE_LOG_LEVEL")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
    cmd->add_option("--log-format", o->log_format, "text or json (one JSON object per line)")
        ->envname("PENSIEVE_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->callback([o] { serve(*o); });
}

}  // namespace pensieve::cli
