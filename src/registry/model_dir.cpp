// Model directory layout and model name resolution.
#include "registry/model_dir.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "registry/web_source.hpp"

namespace pensieve::registry {

namespace fs = std::filesystem;

fs::path pensieve_home() {
    if (const char* home = std::getenv("PENSIEVE_HOME"); home != nullptr && *home != '\0') {
        return home;
    }
    const char* user_home = std::getenv("HOME");
    return fs::path(user_home != nullptr && *user_home != '\0' ? user_home : "/tmp") / ".cache" /
           "pensieve";
}

fs::path models_dir() {
    return pensieve_home() / "models";
}

std::vector<PresentModel> list_models(const fs::path& dir) {
    std::vector<PresentModel> out;
    std::map<std::string, size_t> split_models;  // prefix -> index in `out`
    std::vector<fs::path> later_parts;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file(ec) || entry.path().extension() != ".gguf") continue;
        const std::string file_name = entry.path().filename().string();
        const auto split = parse_split_name(file_name);
        if (split && split->index > 1) {
            later_parts.push_back(entry.path());
            continue;
        }
        PresentModel m;
        m.path = entry.path();
        m.files = {entry.path()};
        m.size = entry.file_size(ec);
        m.name = entry.path().stem().string();
        if (split) {
            m.name = split->prefix;
            m.split_count = split->count;
            split_models[split->prefix] = out.size();
        }
        for (const KnownModel& k : known_models()) {
            if (k.file == file_name) {
                m.known = k;
                m.name = k.name;
            }
        }
        out.push_back(std::move(m));
    }
    // Later parts join their first part; without one they are listed alone.
    std::sort(later_parts.begin(), later_parts.end());
    for (const fs::path& p : later_parts) {
        const auto split = parse_split_name(p.filename().string());
        const auto it = split_models.find(split->prefix);
        if (it != split_models.end() && out[it->second].split_count == split->count) {
            out[it->second].files.push_back(p);
            out[it->second].size += fs::file_size(p, ec);
            continue;
        }
        PresentModel m;
        m.path = p;
        m.files = {p};
        m.size = fs::file_size(p, ec);
        m.name = p.stem().string();
        out.push_back(std::move(m));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

std::optional<PresentModel> find_present_model(std::string_view name, const fs::path& dir) {
    const auto lower = [](std::string_view s) {
        std::string out(s);
        for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return out;
    };
    const auto models = list_models(dir);
    for (const PresentModel& m : models) {
        if (m.name == name || m.path.filename().string() == name) return m;
    }
    for (const PresentModel& m : models) {
        if (lower(m.name) == lower(name) || lower(m.path.filename().string()) == lower(name)) {
            return m;
        }
    }
    if (const auto known = find_known_model(name); known && known->file != name) {
        return find_present_model(known->file, dir);  // a known model's alias
    }
    return std::nullopt;
}

fs::path resolve_model(std::string_view name_or_path, const fs::path& dir) {
    const fs::path as_path(name_or_path);
    std::error_code ec;
    if (fs::is_regular_file(as_path, ec)) return as_path;
    if (const auto known = find_known_model(name_or_path)) {
        const fs::path file = dir / known->file;
        if (fs::is_regular_file(file, ec)) return file;
        throw std::runtime_error("model '" + known->name +
                                 "' is not downloaded yet: run `pensieve pull " + known->name +
                                 "`");
    }
    if (const auto present = find_present_model(name_or_path, dir)) return present->path;
    throw std::runtime_error("no such model file, known model name or model in " + dir.string() +
                             ": '" + std::string(name_or_path) +
                             "' (see `pensieve models --known`)");
}

}  // namespace pensieve::registry
