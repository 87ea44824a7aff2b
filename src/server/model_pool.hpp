// The models one server serves, and which of them are loaded. Every model
// the server can serve is a ModelSpec (from --model, repeated, or every GGUF
// in --models-dir); a request's `model` string picks one here and only here
// (ModelPool::resolve: the exact name, file name or stem, a known model's
// alias, then the alias table's globs in order). A model is loaded on first
// use by the loader the CLI supplies (the server never reads model files
// itself), into a ModelRuntime: the model, tokenizer, chat template, grammar
// cache and its own EngineWorker (scheduler + KV pool). When --max-loaded or
// --max-memory would be exceeded, the least recently used idle model is
// unloaded first; a model with requests running, queued or being answered
// (a ModelLease held) is never unloaded, so a load waits for one to go idle
// (up to the queue timeout, then 529).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/models_info.hpp"
#include "chat/prompt_tokens.hpp"
#include "chat/tools/tool_prompt.hpp"
#include "engine/grammar/grammar_cache.hpp"
#include "server/engine_worker.hpp"
#include "server/metrics.hpp"
#include "server/model_aliases.hpp"

namespace pensieve::server {

// What the server does when a request leaves something unset (serve flags).
struct GenerationDefaults {
    float temperature = 1.0f;      // --temperature (the Anthropic API's own default)
    float repeat_penalty = 1.0f;   // --repeat-penalty (1: off)
    std::optional<uint64_t> seed;  // --seed: every request's sampler starts from it
    // --tool-choice, for requests with tools and no tool_choice: Auto, Any, or
    // First (Any while the conversation ends with the user's own words, Auto
    // once it ends with tool results: an agent's step acts, then may answer).
    enum class ToolChoice { Auto, Any, First };
    ToolChoice tool_choice = ToolChoice::Auto;
    int max_tool_calls = 0;  // --max-tool-calls: calls in one reply (0: no cap)
};

// Everything one loaded model's requests are served with.
struct Serving {
    const chat::PromptBuilder& prompt;
    const tokenizer::Tokenizer& tokenizer;
    EngineWorker& worker;
    chat::ToolTemplateSupport tools;  // how the model's template takes tools
    grammar::GrammarCache& grammars;  // call and output grammars over the model's vocabulary
    api::ServedModel model;
    int64_t n_ctx = 0;
    ServerInfo info;  // build and model facts for /metrics
    GenerationDefaults defaults;
};

// A model the server can serve, loaded or not: facts read from its file's
// header at start-up, so listings need not load it.
struct ModelSpec {
    std::string name;  // what requests and listings call it (known name or file stem)
    std::filesystem::path path;
    int64_t file_bytes = 0;
    std::string display_name;  // general.name
    std::string architecture;  // general.architecture
    int64_t n_ctx = 0;         // context a request gets: --ctx capped by the trained length
};

// One loaded model; destroying it stops its engine worker and unmaps it.
class ModelRuntime {
  public:
    virtual ~ModelRuntime() = default;
    virtual const Serving& serving() const = 0;
    // Weights mapped + the KV pool, for --max-memory.
    virtual int64_t memory_bytes() const = 0;
};

// Held while a request uses a model: a held model is never unloaded.
using ModelLease = std::shared_ptr<const ModelRuntime>;
using ModelLoader = std::function<std::unique_ptr<ModelRuntime>(const ModelSpec&)>;

struct PoolLimits {
    size_t max_loaded = 0;   // models loaded at once (0: no limit)
    int64_t max_memory = 0;  // bytes of weights + KV pools over loaded models (0: no limit)
    // Longest a load waits for a loaded model to go idle before 529.
    std::chrono::milliseconds wait_for_idle{60000};
};

class ModelPool {
  public:
    // Throws AliasConfigError when an alias names no served model.
    ModelPool(std::vector<ModelSpec> models, std::vector<AliasRule> aliases, PoolLimits limits,
              ModelLoader loader);
    ~ModelPool();
    ModelPool(const ModelPool&) = delete;
    ModelPool& operator=(const ModelPool&) = delete;

    const std::vector<ModelSpec>& models() const { return specs_; }
    // The index of the model `requested` names: a served model's name (or
    // name:latest, as Ollama clients write it), file name or stem, exactly
    // or ignoring case, or a known model's alias; else the first alias
    // pattern that matches. nullopt when nothing does.
    std::optional<size_t> resolve(std::string_view requested) const;
    // As resolve(), without the alias table: names only (/api/show,
    // /v1/models/{id}).
    std::optional<size_t> find(std::string_view name) const;

    // The model `requested` names, loaded (this may load it and unload
    // another). Throws api::ApiError: 404 not_found_error naming the
    // servable models, 529 when every loaded model stays busy, 500 when the
    // model fails to load.
    ModelLease acquire(std::string_view requested);
    ModelLease acquire_index(size_t index);

    struct State {
        const ModelSpec* spec;
        ModelLease runtime;  // null: not loaded
        bool loading = false;
        uint64_t loads = 0;  // times it was loaded
    };
    std::vector<State> states() const;

    // Shutdown: stops every loaded model's engine (their requests are
    // cancelled and answered) without unloading it.
    void stop_engines();

    // "a, b, c": for error messages.
    std::string servable_names() const;

  private:
    struct Slot {
        std::shared_ptr<const ModelRuntime> runtime;
        bool loading = false;
        uint64_t last_used = 0;
        uint64_t loads = 0;
        // The last load's error and the file as it was then: the same file
        // fails again at once, without unloading other models for it.
        std::string failed;
        std::optional<std::pair<std::filesystem::file_time_type, std::uintmax_t>> failed_file;
    };
    bool busy(const Slot& s) const;
    // Under mutex_: unloads idle models (moved into `out`) until one more of
    // `incoming_bytes` fits; false if a busy model stands in the way.
    bool make_room(int64_t incoming_bytes, size_t keep,
                   std::vector<std::shared_ptr<const ModelRuntime>>& out);

    std::vector<ModelSpec> specs_;
    std::vector<AliasRule> aliases_;
    PoolLimits limits_;
    ModelLoader loader_;
    mutable std::mutex mutex_;  // guards slots_ and clock_
    std::vector<Slot> slots_;
    uint64_t clock_ = 0;
    std::timed_mutex load_mutex_;  // one load at a time: loads are rare and use every core
};

}  // namespace pensieve::server
