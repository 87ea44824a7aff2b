// Resolving a request's model, and loading and unloading models within the
// server's limits. Loads run one at a time, outside the pool's lock, so
// requests to loaded models never wait behind a load.
#include "server/model_pool.hpp"

#include <cctype>
#include <thread>

#include "api/error.hpp"
#include "registry/known_models.hpp"
#include "server/log.hpp"

namespace pensieve::server {

namespace {

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// The model a name means without aliases: a served name, file name or stem.
std::optional<size_t> find_by_name(const std::vector<ModelSpec>& specs, std::string_view name) {
    if (name.ends_with(":latest")) name.remove_suffix(7);  // Ollama's default tag
    for (size_t i = 0; i < specs.size(); ++i) {
        if (specs[i].name == name) return i;
    }
    for (size_t i = 0; i < specs.size(); ++i) {
        const ModelSpec& s = specs[i];
        if (iequals_ascii(s.name, name) || iequals_ascii(s.path.filename().string(), name) ||
            iequals_ascii(s.path.stem().string(), name)) {
            return i;
        }
    }
    if (const auto known = registry::find_known_model(name)) {
        for (size_t i = 0; i < specs.size(); ++i) {
            if (specs[i].name == known->name || specs[i].path.filename() == known->file) return i;
        }
    }
    return std::nullopt;
}

constexpr std::chrono::milliseconds kIdlePoll{50};

}  // namespace

ModelPool::ModelPool(std::vector<ModelSpec> models, std::vector<AliasRule> aliases,
                     PoolLimits limits, ModelLoader loader)
    : specs_(std::move(models)),
      aliases_(std::move(aliases)),
      limits_(limits),
      loader_(std::move(loader)),
      slots_(specs_.size()) {
    for (const AliasRule& rule : aliases_) {
        if (!find_by_name(specs_, rule.target)) {
            throw AliasConfigError(
                "alias \"" + rule.pattern + "\" names \"" + rule.target +
                "\", which this server does not serve (it serves: " + servable_names() + ")");
        }
    }
    // One model answers whatever a client calls it (Claude Code sends
    // claude-* names), as the server always has.
    if (specs_.size() == 1) aliases_.push_back({"*", specs_[0].name});
}

ModelPool::~ModelPool() = default;

std::optional<size_t> ModelPool::resolve(std::string_view requested) const {
    if (auto i = find_by_name(specs_, requested)) return i;
    if (auto target = match_alias(aliases_, requested)) return find_by_name(specs_, *target);
    return std::nullopt;
}

std::optional<size_t> ModelPool::find(std::string_view name) const {
    return find_by_name(specs_, name);
}

std::string ModelPool::servable_names() const {
    std::string out;
    for (const ModelSpec& s : specs_) out += (out.empty() ? "" : ", ") + s.name;
    return out;
}

ModelLease ModelPool::acquire(std::string_view requested) {
    const std::optional<size_t> i = resolve(requested);
    if (!i) {
        throw api::ApiError(404, "not_found_error",
                            "model '" + std::string(requested.substr(0, 256)) +
                                "' not found; this server serves: " + servable_names());
    }
    return acquire_index(*i);
}

bool ModelPool::busy(const Slot& s) const {
    // The pool's own reference is one; any other is a request's lease.
    return s.runtime.use_count() > 1 || s.runtime->serving().worker.running() > 0 ||
           s.runtime->serving().worker.queued() > 0;
}

bool ModelPool::make_room(int64_t incoming_bytes, size_t keep,
                          std::vector<std::shared_ptr<const ModelRuntime>>& out) {
    for (;;) {
        size_t loaded = 0;
        int64_t bytes = incoming_bytes;
        std::vector<LoadedCandidate> candidates;
        std::vector<size_t> index;
        for (size_t j = 0; j < slots_.size(); ++j) {
            if (!slots_[j].runtime) continue;
            ++loaded;
            bytes += slots_[j].runtime->memory_bytes();
            if (j == keep) continue;
            candidates.push_back({busy(slots_[j]), slots_[j].last_used});
            index.push_back(j);
        }
        if (!slots_[keep].runtime) ++loaded;  // the one about to load
        const bool over = (limits_.max_loaded > 0 && loaded > limits_.max_loaded) ||
                          (limits_.max_memory > 0 && bytes > limits_.max_memory);
        // With no other model loaded there is nothing to unload: a model
        // larger than the budget alone still loads.
        if (!over || candidates.empty()) return true;
        const std::optional<size_t> victim = choose_unload(candidates);
        if (!victim) return false;
        Slot& s = slots_[index[*victim]];
        log_event(LogLevel::Info, "unloading model",
                  {{"model", specs_[index[*victim]].name}, {"to_load", specs_[keep].name}});
        out.push_back(std::move(s.runtime));
        s.runtime.reset();
    }
}

namespace {

// A model file's modification time and size, or nothing when it cannot be
// read: what tells a file that failed to load from one put in its place.
std::optional<std::pair<std::filesystem::file_time_type, std::uintmax_t>> file_state(
    const std::filesystem::path& path) {
    std::error_code ec;
    const auto time = std::filesystem::last_write_time(path, ec);
    if (ec) return std::nullopt;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return std::nullopt;
    return std::pair{time, size};
}

api::ApiError load_error(const ModelSpec& spec, const std::string& what) {
    return api::ApiError(500, "api_error", "model '" + spec.name + "' failed to load: " + what);
}

}  // namespace

ModelLease ModelPool::acquire_index(size_t i) {
    {
        std::lock_guard lock(mutex_);
        if (slots_[i].runtime) {
            slots_[i].last_used = ++clock_;
            return slots_[i].runtime;
        }
    }
    // One deadline from the request's arrival, for the wait behind other
    // loads and for room: a request queued behind N loads waits no longer
    // than the first.
    const auto deadline = std::chrono::steady_clock::now() + limits_.wait_for_idle;
    const auto busy_error = [&] {
        return api::ApiError(529, "overloaded_error",
                             "cannot load model '" + specs_[i].name +
                                 "': the loaded models stay busy (--max-loaded, "
                                 "--max-memory); retry shortly");
    };
    std::unique_lock load(load_mutex_, std::defer_lock);
    if (!load.try_lock_until(deadline)) throw busy_error();
    const auto file_now = file_state(specs_[i].path);
    std::vector<std::shared_ptr<const ModelRuntime>> unloaded;
    {
        std::unique_lock lock(mutex_);
        if (slots_[i].runtime) {  // another request loaded it meanwhile
            slots_[i].last_used = ++clock_;
            return slots_[i].runtime;
        }
        if (!slots_[i].failed.empty() && file_now && slots_[i].failed_file == file_now) {
            throw load_error(specs_[i], slots_[i].failed);
        }
        while (!make_room(specs_[i].file_bytes, i, unloaded)) {
            if (std::chrono::steady_clock::now() >= deadline) throw busy_error();
            lock.unlock();
            std::this_thread::sleep_for(kIdlePoll);
            lock.lock();
        }
        slots_[i].loading = true;
    }
    unloaded.clear();  // stops their engines and unmaps them, outside the lock
    log_event(LogLevel::Info, "loading model",
              {{"model", specs_[i].name}, {"path", specs_[i].path.string()}});
    std::shared_ptr<const ModelRuntime> runtime;
    try {
        runtime = loader_(specs_[i]);
    } catch (const std::exception& e) {
        {
            std::lock_guard lock(mutex_);
            slots_[i].loading = false;
            slots_[i].failed = e.what();
            slots_[i].failed_file = file_now;
        }
        log_event(LogLevel::Error, "model failed to load",
                  {{"model", specs_[i].name}, {"error", e.what()}});
        throw load_error(specs_[i], e.what());
    }
    ModelLease lease;
    {
        std::lock_guard lock(mutex_);
        Slot& s = slots_[i];
        s.runtime = std::move(runtime);
        s.failed.clear();
        s.failed_file.reset();
        s.loading = false;
        s.loads += 1;
        s.last_used = ++clock_;
        lease = s.runtime;
        // The real footprint (KV pool included) is known now: unload idle
        // ones if it went over the memory budget.
        make_room(0, i, unloaded);
    }
    unloaded.clear();
    return lease;
}

std::vector<ModelPool::State> ModelPool::states() const {
    std::lock_guard lock(mutex_);
    std::vector<State> out;
    for (size_t i = 0; i < specs_.size(); ++i) {
        out.push_back({&specs_[i], slots_[i].runtime, slots_[i].loading, slots_[i].loads});
    }
    return out;
}

void ModelPool::stop_engines() {
    for (const State& s : states()) {
        if (s.runtime) s.runtime->serving().worker.stop();
    }
}

}  // namespace pensieve::server
