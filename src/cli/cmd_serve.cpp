// `pensieve serve`: serve one model or several (--model repeated, or every
// GGUF in --models-dir) over the Anthropic, OpenAI and Ollama APIs. The
// default model (the first) loads at start-up; the others load on first use
// and may be unloaded again within --max-loaded / --max-memory (see
// server/model_pool.hpp). This file only makes models: the loader the pool
// calls, and each model's facts read from its file's header.
// SIGINT/SIGTERM stop accepting and give the requests in flight up to
// --shutdown-grace seconds to finish; the rest are then cancelled (503, or an
// SSE error event) and the process exits 0. A second signal exits at once.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "cli/text_file.hpp"
#include "gguf/file.hpp"
#include "kernels/cpu.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"
#include "server/browser_guard.hpp"
#include "server/http_server.hpp"
#include "server/log.hpp"
#include "server/model_aliases.hpp"
#include "server/model_pool.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::cli {
namespace {

struct ServeOptions {
    ModelOptions model;
    std::vector<std::string> models;  // --model, repeated
    std::string models_dir;           // --models-dir: serve every GGUF there
    std::string aliases_file;         // --aliases: the JSON alias table
    size_t max_loaded = 0;            // 0: no limit
    std::string max_memory;           // e.g. 8GiB; empty: no limit
    server::ServerConfig server;
    server::WorkerConfig worker;
    size_t max_body_mb = 32;
    int header_timeout_s = 10;
    int read_timeout_s = 30;
    double shutdown_grace_s = 10;
    std::string allowed_hosts;    // comma-separated
    std::string allowed_origins;  // comma-separated
    double queue_timeout_s = 60;
    int64_t kv_memory_mb = 0;  // alternative to --kv-tokens
    std::string log_level = "info";
    std::string log_format = "text";
    server::GenerationDefaults defaults;
    std::optional<uint64_t> seed;
    std::string tool_choice = "auto";
};

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

const char* signal_name(int sig) {
    return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

// A long-running server whose connections each have a thread: glibc's
// defaults let RSS creep for good. Each thread may get its own malloc arena
// (up to 8 per core), and freed memory stays in whichever arena held it; and
// the mmap threshold rises to the largest block freed (up to 32 MiB), so
// after one large request body every later one comes from the heap, where it
// fragments. Two arenas, and a fixed 1 MiB threshold (large buffers are
// mapped and unmapped whole), keep RSS flat under a steady load; serve()
// also trims the heap every few seconds.
void bound_allocator_growth() {
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

// How long the replies of cancelled requests get to go out.
constexpr std::chrono::seconds kCancelledReplies{5};

// The graceful stop: drain, then cancel what is left, then close.
void shut_down(server::HttpServer& http, server::ModelPool& models, double grace_s, int sig,
               const sigset_t& signals) {
    std::printf("pensieve: %s received, shutting down (%zu requests in flight, %.0f s grace)\n",
                signal_name(sig), http.in_flight(), grace_s);
    std::fflush(stdout);
    // A second signal means "now": it ends the process without waiting.
    std::thread([signals] {
        int again = 0;
        sigwait(&signals, &again);
        std::printf("pensieve: %s received again, exiting now\n", signal_name(again));
        std::fflush(stdout);
        _exit(128 + again);
    }).detach();
    http.begin_shutdown();
    const auto grace = std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1e3));
    if (!http.wait_idle(grace)) {
        std::printf("pensieve: grace period over, cancelling %zu requests\n", http.in_flight());
        std::fflush(stdout);
    }
    models.stop_engines();  // cancels what is left: its handlers answer 503 or an SSE error event
    // Those answers are written by the connections' threads: let them go
    // out before the connections are closed.
    http.wait_idle(kCancelledReplies);
    http.stop();
}

// One loaded model with its engine. Members are destroyed in reverse:
// the Serving view, then the worker (its thread stops), then the model.
class LoadedRuntime : public server::ModelRuntime {
  public:
    const server::Serving& serving() const override { return *serving_; }
    int64_t memory_bytes() const override { return bytes_; }

    LoadedModel model;
    std::unique_ptr<grammar::GrammarCache> grammars;
    std::unique_ptr<server::EngineWorker> worker;
    std::unique_ptr<server::Serving> serving_;
    int64_t bytes_ = 0;
};

// The pool's loader: the model, its tokenizer and template, and an engine
// with its own scheduler and KV pool.
std::unique_ptr<server::ModelRuntime> load(const server::ModelSpec& spec, const ServeOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    ModelOptions options = o.model;
    options.model = spec.path.string();
    auto r = std::make_unique<LoadedRuntime>();
    r->model = load_model(options);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& hp = r->model.model->hparams();
    server::WorkerConfig worker = o.worker;
    worker.scheduler.n_ctx = spec.n_ctx;
    const auto bytes_per_token = static_cast<int64_t>(model::KvCache::bytes_per_token(
        {hp.n_layer, hp.n_head_kv, hp.head_dim, 1, worker.scheduler.kv_type}));
    if (o.kv_memory_mb > 0) {
        worker.scheduler.kv_tokens =
            std::max<int64_t>(16, (o.kv_memory_mb << 20) / bytes_per_token);
    }
    r->worker =
        std::make_unique<server::EngineWorker>(*r->model.model, *r->model.tokenizer, worker);
    // Tool calls and structured output: how the template takes tools, and the
    // grammars of calls over this vocabulary (built once, shared by requests).
    r->grammars = std::make_unique<grammar::GrammarCache>(
        grammar::TokenVocabulary::from_tokenizer(*r->model.tokenizer));
    server::ServerInfo info;
    info.model = spec.name;
    info.model_bytes = spec.file_bytes;
    info.model_load_seconds = load_seconds;
    info.n_ctx = spec.n_ctx;
    info.n_parallel = worker.scheduler.n_parallel;
    r->serving_ = std::make_unique<server::Serving>(
        server::Serving{*r->model.prompt,
                        *r->model.tokenizer,
                        *r->worker,
                        chat::tool_template_support(r->model.prompt->model_template().source),
                        *r->grammars,
                        {spec.name, spec.display_name, spec.n_ctx},
                        spec.n_ctx,
                        info,
                        o.defaults});
    r->bytes_ = spec.file_bytes +
                r->worker->kv_blocks_total() * model::KvCache::kBlockTokens * bytes_per_token;
    server::log_event(server::LogLevel::Info, "model loaded",
                      {{"model", spec.name}, {"seconds", load_seconds}, {"bytes", r->bytes_}});
    return r;
}

// A model's facts from its file's header (no weights are read).
server::ModelSpec describe(std::string name, const std::filesystem::path& path,
                           const ServeOptions& o) {
    if (!tokenizer::utf8::is_valid(name)) {
        throw std::runtime_error("the name of " + path.string() +
                                 " is not UTF-8, so no request could name it: rename the file");
    }
    const gguf::GgufFile file = gguf::GgufFile::open(path);
    server::ModelSpec spec;
    spec.name = std::move(name);
    spec.path = path;
    spec.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    spec.architecture = file.get_string("general.architecture").value_or("");
    spec.display_name = file.get_string("general.name").value_or(spec.architecture);
    const int64_t trained =
        file.get_int(spec.architecture + ".context_length").value_or(int64_t{2048});
    spec.n_ctx = std::min<int64_t>(o.model.ctx, trained);
    return spec;
}

// What the server can serve: each --model in order (none: the default
// model), then every other model in --models-dir. A --model that cannot be
// served stops start-up; a file in --models-dir that cannot (not a readable
// GGUF, or a name no request could spell because it is not UTF-8) is left out
// with a warning naming it, so one bad download does not stop the others.
std::vector<server::ModelSpec> servable_models(const ServeOptions& o) {
    std::vector<server::ModelSpec> specs;
    auto add = [&specs](server::ModelSpec spec) {
        for (const server::ModelSpec& s : specs) {
            if (std::filesystem::equivalent(s.path, spec.path)) return;
            if (s.name == spec.name) {
                throw std::runtime_error("two models are called '" + spec.name + "' (" +
                                         s.path.string() + " and " + spec.path.string() +
                                         "): serve only one of them");
            }
        }
        specs.push_back(std::move(spec));
    };
    std::vector<std::string> names = o.models;
    if (names.empty() && o.models_dir.empty()) names.push_back(registry::default_model().name);
    for (const std::string& name : names) {
        const auto path = registry::resolve_model(name, registry::models_dir());
        const auto known = registry::find_known_model(name);
        add(describe(known ? known->name : path.stem().string(), path, o));
    }
    if (!o.models_dir.empty()) {
        const std::filesystem::path dir(o.models_dir);
        if (!std::filesystem::is_directory(dir)) {
            throw std::runtime_error("--models-dir: " + o.models_dir + " is not a directory");
        }
        for (const registry::PresentModel& m : registry::list_models(dir)) {
            std::optional<server::ModelSpec> spec;
            try {
                spec = describe(m.name, m.path, o);
            } catch (const std::exception& e) {
                server::log_event(server::LogLevel::Warn, "--models-dir: left out a model file",
                                  {{"file", m.path.string()}, {"error", e.what()}});
                continue;
            }
            add(std::move(*spec));
        }
        if (specs.empty()) {
            throw std::runtime_error("--models-dir: no servable .gguf file in " + o.models_dir);
        }
    }
    return specs;
}

// The --aliases file; a bad one stops the server with a message.
std::vector<server::AliasRule> read_aliases(const std::string& path) {
    return server::parse_alias_config(read_text_file(path, "--aliases", size_t{1} << 20), path);
}

// The start-up lines (tests and scripts read the URL from the first).
void print_banner(const server::Serving& main, const server::ModelPool& models,
                  const ServeOptions& o, int port) {
    if (models.models().size() == 1) {
        std::printf("pensieve: serving %s (%s) on http://%s:%d\n", main.model.id.c_str(),
                    models.models()[0].architecture.c_str(), o.server.host.c_str(), port);
    } else {
        std::printf("pensieve: serving %zu models (%s; default %s) on http://%s:%d\n",
                    models.models().size(), models.servable_names().c_str(), main.model.id.c_str(),
                    o.server.host.c_str(), port);
    }
    std::printf(
        "pensieve: context %lld tokens, %lld parallel sequences, KV pool %lld tokens (%s), "
        "kernels %s, chat template: %s%s\n",
        static_cast<long long>(main.n_ctx), static_cast<long long>(o.worker.scheduler.n_parallel),
        static_cast<long long>(main.worker.kv_blocks_total() * model::KvCache::kBlockTokens),
        o.model.kv_type.c_str(), std::string(kernels::isa_name(kernels::active_isa())).c_str(),
        chat::origin_name(main.prompt.model_template().origin),
        o.server.api_key.empty() ? "" : ", API key required");
    std::fflush(stdout);
}

void serve(ServeOptions o) {
    // Signals are taken by one thread with sigwait, so no handler runs inside
    // the server's threads; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    bound_allocator_growth();

    o.server.limits.max_body = o.max_body_mb << 20;
    o.server.limits.header_timeout = std::chrono::seconds(o.header_timeout_s);
    o.server.limits.read_timeout = std::chrono::seconds(o.read_timeout_s);
    o.server.allowed_hosts = server::split_list(o.allowed_hosts);
    o.server.allowed_origins = server::split_list(o.allowed_origins);
    o.defaults.seed = o.seed;
    o.defaults.tool_choice = o.tool_choice == "any" ? server::GenerationDefaults::ToolChoice::Any
                             : o.tool_choice == "first"
                                 ? server::GenerationDefaults::ToolChoice::First
                                 : server::GenerationDefaults::ToolChoice::Auto;
    server::configure_log(*server::parse_log_level(o.log_level),
                          *server::parse_log_format(o.log_format));
    o.worker.scheduler.kv_type = kv_type(o.model);
    o.worker.scheduler.n_threads = o.model.threads;
    o.worker.queue_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(o.queue_timeout_s * 1e3));
    // Every model's engine runs its steps on all --threads, one model's step
    // at a time (see StepGate).
    o.worker.gate = std::make_shared<server::StepGate>();

    server::PoolLimits limits;
    limits.max_loaded = o.max_loaded;
    if (!o.max_memory.empty()) {
        try {
            limits.max_memory = server::parse_memory_size(o.max_memory);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("--max-memory: ") + e.what());
        }
    }
    limits.wait_for_idle = o.worker.queue_timeout;
    std::vector<server::AliasRule> aliases;
    if (!o.aliases_file.empty()) aliases = read_aliases(o.aliases_file);
    server::ModelPool models(servable_models(o), std::move(aliases), limits,
                             [&o](const server::ModelSpec& spec) { return load(spec, o); });

    // The default model loads now, so the first request is as fast as ever
    // and a model that cannot load stops the server at once.
    server::ModelLease first = models.acquire_index(0);
    server::ServerInfo info;
    info.version = PENSIEVE_VERSION;
    info.commit = PENSIEVE_COMMIT;
    info.kernels = kernels::isa_name(kernels::active_isa());
    info.model = first->serving().model.id;
    server::HttpServer http(o.server, models, info);
    if (!http.start()) {
        set_exit_code(1);
        return;
    }
    if (!is_loopback(o.server.host) && o.server.api_key.empty()) {
        server::log_event(server::LogLevel::Warn,
                          "listening on a non-loopback address without --api-key: anyone who "
                          "can reach it can use this server",
                          {{"host", o.server.host}});
    }
    print_banner(first->serving(), models, o, http.port());
    first.reset();  // a held lease would keep the default model loaded for good

    // While waiting for a signal, hand the allocator's free pages back to the
    // system every few seconds: after a burst of large requests the heap
    // keeps their high-water mark otherwise (malloc_trim takes well under a
    // millisecond with two arenas).
    int sig = -1;
    const timespec every{.tv_sec = 5, .tv_nsec = 0};
    while (sig < 0) {
        sig = sigtimedwait(&signals, nullptr, &every);
        if (sig < 0) malloc_trim(0);
    }
    shut_down(http, models, o.shutdown_grace_s, sig, signals);
}

// CLI11 2.1 reads a config file for the main app only: a subcommand's
// --config is parsed but its file ignored. So the file is applied here, to
// every option not already set on the command line or by its environment
// variable (hence: command line, then environment, then file). Keys are the
// long option names, at the top level or in a [serve] section.
void apply_config_file(CLI::App& cmd) {
    const CLI::Option* config = cmd.get_config_ptr();
    if (config == nullptr || config->count() == 0) return;
    const std::string path = config->as<std::string>();
    if (path.empty()) return;
    if (CLI::detail::check_path(path.c_str()) != CLI::detail::path_type::file) {
        throw CLI::FileError::Missing(path);
    }
    for (const CLI::ConfigItem& item : cmd.get_config_formatter()->from_file(path)) {
        if (item.name == "++" || item.name == "--") continue;  // section markers
        if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == "serve")) {
            throw CLI::ConfigError::Extras(item.fullname());
        }
        std::string name = item.name;
        std::ranges::replace(name, '_', '-');
        CLI::Option* option = cmd.get_option_no_throw("--" + name);
        if (option == nullptr || option == config) throw CLI::ConfigError::Extras(item.fullname());
        if (option->count() > 0) continue;
        for (const std::string& value : item.inputs) option->add_result(value);
        option->run_callback();
    }
}

}  // namespace

void register_serve(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    CLI::App* cmd = app.add_subcommand("serve", "Serve a model over HTTP (Anthropic Messages API)");
    cmd->set_config("--config", "", "TOML/INI file with any of these options as keys");
    add_model_options(*cmd, o->model, &o->models);
    cmd->add_option("--models-dir", o->models_dir,
                    "Serve every GGUF file in this folder too, each loaded on first use")
        ->envname("PENSIEVE_MODELS_DIR");
    cmd->add_option("--aliases", o->aliases_file,
                    "JSON file of model-name patterns → served models, e.g. "
                    "{\"aliases\": {\"claude-*haiku*\": \"gemma3-270m\", \"*\": \"smollm2\"}}")
        ->envname("PENSIEVE_ALIASES")
        ->check(CLI::ExistingFile);
    cmd->add_option("--max-loaded", o->max_loaded,
                    "Most models loaded at once; the least recently used idle one is "
                    "unloaded first (0: no limit)")
        ->envname("PENSIEVE_MAX_LOADED")
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--max-memory", o->max_memory,
                    "Memory for loaded models' weights and KV pools (e.g. 8GiB, 512MiB); "
                    "the least recently used idle model is unloaded to stay under it")
        ->envname("PENSIEVE_MAX_MEMORY");
    cmd->add_option("--host", o->server.host, "Address to listen on")->envname("PENSIEVE_HOST");
    cmd->add_option("-p,--port", o->server.port, "Port (0: any free port)")
        ->envname("PENSIEVE_PORT")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--api-key", o->server.api_key, "Require this key (x-api-key or Bearer)")
        ->envname("PENSIEVE_API_KEY");
    cmd->add_option("--max-body", o->max_body_mb, "Largest request body, in MB")
        ->envname("PENSIEVE_MAX_BODY")
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--max-connections", o->server.limits.max_connections,
                    "Open connections at most, idle ones included (more are refused)")
        ->envname("PENSIEVE_MAX_CONNECTIONS")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--header-timeout", o->header_timeout_s,
                    "Seconds a connection may take to send a request's headers")
        ->envname("PENSIEVE_HEADER_TIMEOUT")
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--read-timeout", o->read_timeout_s,
                    "Seconds for a request's body, and the longest a reply may stall")
        ->envname("PENSIEVE_READ_TIMEOUT")
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--shutdown-grace", o->shutdown_grace_s,
                    "Seconds in-flight requests get to finish after SIGTERM/SIGINT")
        ->envname("PENSIEVE_SHUTDOWN_GRACE")
        ->check(CLI::Range(0.0, 86400.0));
    cmd->add_option("--allowed-hosts", o->allowed_hosts,
                    "Host header names accepted besides loopback ones (comma-separated)")
        ->envname("PENSIEVE_ALLOWED_HOSTS");
    cmd->add_option("--allowed-origins", o->allowed_origins,
                    "Browser origins allowed to call the API, with CORS (comma-separated)")
        ->envname("PENSIEVE_ALLOWED_ORIGINS");
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
    cmd->add_option("--temperature", o->defaults.temperature,
                    "Sampling temperature of requests that set none (default 1, as the "
                    "Anthropic API; 0: greedy)")
        ->envname("PENSIEVE_TEMPERATURE")
        ->check(CLI::Range(0.0f, 2.0f));
    cmd->add_option("--repeat-penalty", o->defaults.repeat_penalty,
                    "Divide the logits of the last 64 tokens by this (1: off; Ollama uses 1.1); "
                    "keeps small models out of loops")
        ->envname("PENSIEVE_REPEAT_PENALTY")
        ->check(CLI::Range(1.0f, 2.0f));
    cmd->add_option("--seed", o->seed,
                    "Seed every request's sampler with this (default: a random seed each), so "
                    "equal requests get equal replies")
        ->envname("PENSIEVE_SEED");
    cmd->add_option("--tool-choice", o->tool_choice,
                    "tool_choice of requests with tools that set none: auto (the model "
                    "decides), any (always call a tool) or first (call a tool while the "
                    "conversation ends with the user's words; decide after tool results)")
        ->envname("PENSIEVE_TOOL_CHOICE")
        ->check(CLI::IsMember({"auto", "any", "first"}));
    cmd->add_option("--max-tool-calls", o->defaults.max_tool_calls,
                    "Most tool calls in one reply (0: no cap; 1: as disable_parallel_tool_use)")
        ->envname("PENSIEVE_MAX_TOOL_CALLS")
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--log-level", o->log_level,
                    "error, warn, info (one line per request) or debug")
        ->envname("PENSIEVE_LOG_LEVEL")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
    cmd->add_option("--log-format", o->log_format, "text or json (one JSON object per line)")
        ->envname("PENSIEVE_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->callback([o, cmd] {
        apply_config_file(*cmd);
        serve(*o);
    });
}

}  // namespace pensieve::cli
