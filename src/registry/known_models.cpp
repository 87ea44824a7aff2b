// Parsing and lookup of the known-model table.
#include "registry/known_models.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace pensieve::registry {

extern const char* const kKnownModelsJson;  // generated from known_models.json

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_hex_sha256(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

KnownModel parse_one(const nlohmann::json& j) {
    KnownModel m;
    m.name = j.at("name").get<std::string>();
    m.aliases = j.value("aliases", std::vector<std::string>{});
    m.is_default = j.value("default", false);
    m.description = j.value("description", "");
    m.file = j.at("file").get<std::string>();
    m.size = j.at("size").get<uint64_t>();
    m.sha256 = j.at("sha256").get<std::string>();
    if (!is_hex_sha256(m.sha256))
        throw std::runtime_error(m.name + ": sha256 is not 64 hex digits");
    if (m.file.empty() || m.file.find('/') != std::string::npos) {
        throw std::runtime_error(m.name + ": file must be a plain file name");
    }
    for (const auto& p : j.at("parts")) {
        m.parts.push_back({p.at("package").get<std::string>(), p.at("version").get<std::string>(),
                           p.at("member").get<std::string>()});
    }
    if (m.parts.empty()) throw std::runtime_error(m.name + ": no parts");
    return m;
}

}  // namespace

std::vector<KnownModel> parse_known_models(std::string_view json_text) {
    std::vector<KnownModel> models;
    try {
        for (const auto& j : nlohmann::json::parse(json_text)) models.push_back(parse_one(j));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("known models table: ") + e.what());
    }
    if (std::count_if(models.begin(), models.end(), [](const auto& m) { return m.is_default; }) !=
        1) {
        throw std::runtime_error("known models table: exactly one model must be the default");
    }
    return models;
}

const std::vector<KnownModel>& known_models() {
    static const std::vector<KnownModel> models = parse_known_models(kKnownModelsJson);
    return models;
}

std::optional<KnownModel> find_known_model(std::string_view name) {
    const std::string want = lower(name);
    for (const KnownModel& m : known_models()) {
        if (lower(m.name) == want) return m;
        for (const std::string& a : m.aliases) {
            if (lower(a) == want) return m;
        }
    }
    return std::nullopt;
}

const KnownModel& default_model() {
    for (const KnownModel& m : known_models()) {
        if (m.is_default) return m;
    }
    throw std::logic_error("no default model");  // parse_known_models guarantees one
}

}  // namespace pensieve::registry
