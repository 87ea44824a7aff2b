// `pensieve models [--known]`: the models in the model directory with their
// size, architecture, parameter count, context length, format mix and
// whether the server on the default address has one loaded (and, with
// --known, every model `pensieve pull NAME` can fetch).
// `pensieve rm NAME`: deletes one model (every part of a split one) from the
// model directory, and nothing outside it.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/summary.hpp"
#include "registry/http_fetch.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"

namespace pensieve::cli {
namespace {

namespace fs = std::filesystem;

struct ModelFacts {
    std::string architecture = "?";
    uint64_t parameters = 0;
    std::string context = "-";
    std::string formats;  // e.g. "Q4_K 70%, Q6_K 20%, F32 10%"
    std::string error;    // set when a file cannot be read
};

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// The tensor types by their share of the tensor bytes, largest first; the
// long tail is summed as "other".
std::string format_mix(const std::map<std::string, gguf::TypeUsage>& types) {
    uint64_t total = 0;
    std::vector<std::pair<uint64_t, std::string>> by_bytes;
    for (const auto& [name, use] : types) {
        total += use.bytes;
        by_bytes.emplace_back(use.bytes, upper(name));
    }
    std::sort(by_bytes.rbegin(), by_bytes.rend());
    std::string out;
    uint64_t shown = 0;
    for (size_t i = 0; i < by_bytes.size() && i < 3; ++i) {
        const double share =
            total ? 100.0 * static_cast<double>(by_bytes[i].first) / static_cast<double>(total)
                  : 0.0;
        char text[64];
        std::snprintf(text, sizeof text, "%s%s %.0f%%", out.empty() ? "" : ", ",
                      by_bytes[i].second.c_str(), share);
        out += text;
        shown += by_bytes[i].first;
    }
    if (by_bytes.size() > 3 && total > 0) {
        char text[48];
        std::snprintf(text, sizeof text, ", other %.0f%%",
                      100.0 * static_cast<double>(total - shown) / static_cast<double>(total));
        out += text;
    }
    return out;
}

ModelFacts model_facts(const registry::PresentModel& m) {
    ModelFacts f;
    std::map<std::string, gguf::TypeUsage> types;
    try {
        for (size_t i = 0; i < m.files.size(); ++i) {
            const gguf::GgufFile file = gguf::GgufFile::open(m.files[i]);
            const gguf::Summary s = gguf::summarize(file);
            if (i == 0) {
                if (!s.architecture.empty()) f.architecture = s.architecture;
                if (s.context_length) f.context = std::to_string(*s.context_length);
            }
            f.parameters += s.parameters;
            for (const auto& [name, use] : s.types) {
                types[name].tensors += use.tensors;
                types[name].bytes += use.bytes;
                types[name].elements += use.elements;
            }
        }
    } catch (const std::exception& e) {
        f.error = e.what();
    }
    f.formats = format_mix(types);
    if (static_cast<int>(m.files.size()) < m.split_count) {
        f.error = "only " + std::to_string(m.files.size()) + " of " +
                  std::to_string(m.split_count) + " parts present";
    }
    return f;
}

std::string count_text(uint64_t n) {
    char text[32];
    if (n >= 1000000000ULL) {
        std::snprintf(text, sizeof text, "%.2fB", static_cast<double>(n) / 1e9);
    } else if (n >= 1000000ULL) {
        std::snprintf(text, sizeof text, "%.1fM", static_cast<double>(n) / 1e6);
    } else {
        std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(n));
    }
    return text;
}

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

// The server `pensieve serve` would start with the same environment.
std::string default_server_url() {
    std::string host = env_or("PENSIEVE_HOST", "127.0.0.1");
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    return "http://" + host + ":" + env_or("PENSIEVE_PORT", "7777");
}

// The models a running server has loaded, from its /api/ps (its
// /v1/models lists every model it can serve, loaded or not); nullopt when
// none answers within a second.
std::optional<std::set<std::string>> loaded_models(const std::string& base_url) {
    try {
        registry::HttpClient client;
        registry::HttpRequest request;
        request.url = base_url + "/api/ps";
        request.connect_timeout_ms = 500;
        request.total_timeout_ms = 1500;
        request.direct = true;
        if (const char* key = std::getenv("PENSIEVE_API_KEY"); key != nullptr && *key != '\0') {
            request.extra_headers.push_back(std::string("x-api-key: ") + key);
        }
        long status = 0;
        const std::string body = client.get_text(request, size_t{1} << 20, &status);
        if (status != 200) return std::nullopt;
        const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
        if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
            return std::nullopt;
        }
        std::set<std::string> ids;
        for (const auto& entry : j["models"]) {
            if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
                ids.insert(entry["name"].get<std::string>());
            }
        }
        return ids;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void run_models(bool known) {
    const auto dir = registry::models_dir();
    const auto present = registry::list_models(dir);
    const std::string server = default_server_url();
    const auto loaded = loaded_models(server);
    std::printf("model directory: %s\n", dir.c_str());
    std::printf("server: %s\n", loaded ? server.c_str() : ("no server at " + server).c_str());
    if (present.empty()) std::printf("no models yet: run `pensieve pull`\n");
    if (!present.empty()) {
        std::printf("%-32s %10s %-10s %8s %7s %-7s %-30s %s\n", "NAME", "SIZE", "ARCH", "PARAMS",
                    "CTX", "LOADED", "FORMAT", "PATH");
    }
    for (const auto& m : present) {
        const ModelFacts f = model_facts(m);
        const char* state = !loaded ? "no server" : loaded->count(m.name) ? "yes" : "no";
        char size[32];
        std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(m.size) / 1048576.0);
        std::printf("%-32s %10s %-10s %8s %7s %-7s %-30s %s\n", m.name.c_str(), size,
                    f.architecture.c_str(), count_text(f.parameters).c_str(), f.context.c_str(),
                    state, f.formats.c_str(), m.path.c_str());
        if (m.files.size() > 1) {
            std::printf("%-32s split into %zu files\n", "", m.files.size());
        }
        if (!f.error.empty()) std::printf("%-32s warning: %s\n", "", f.error.c_str());
    }
    if (!known) return;
    std::printf("\nknown models (pensieve pull NAME):\n");
    for (const auto& m : registry::known_models()) {
        std::printf("%-32s %8.1f MiB  %s%s\n", m.name.c_str(),
                    static_cast<double>(m.size) / 1048576.0, m.description.c_str(),
                    m.is_default ? " [default]" : "");
    }
}

void run_rm(const std::string& name) {
    const fs::path dir = registry::models_dir();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        throw std::runtime_error(
            "`pensieve rm` takes a model name from `pensieve models`, not a "
            "path: '" +
            name + "'");
    }
    const auto model = registry::find_present_model(name, dir);
    if (!model) {
        throw std::runtime_error("no model '" + name + "' in " + dir.string() +
                                 " (see `pensieve models`)");
    }
    std::error_code ec;
    const fs::path canonical_dir = fs::canonical(dir, ec);
    for (const fs::path& file : model->files) {
        // Only direct entries of the model directory are removed; a symbolic
        // link is removed itself, never its target.
        if (ec || fs::canonical(file.parent_path()) != canonical_dir) {
            throw std::runtime_error("refusing to delete " + file.string() +
                                     ": it is not in the model directory");
        }
    }
    for (const fs::path& file : model->files) {
        fs::remove(file);
        std::printf("deleted %s\n", file.c_str());
        fs::remove(file.string() + ".partial", ec);
    }
}

}  // namespace

void register_models(CLI::App& app) {
    auto known = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("models", "List downloaded models");
    cmd->add_flag("--known", *known, "Also list the models that can be pulled");
    cmd->callback([known] { run_models(*known); });

    auto name = std::make_shared<std::string>();
    CLI::App* rm = app.add_subcommand("rm", "Delete a model from the model directory");
    rm->add_option("name", *name, "Model name as `pensieve models` lists it")->required();
    rm->callback([name] { run_rm(*name); });
}

}  // namespace pensieve::cli
