// Model directory layout and model name resolution.
#include "registry/model_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

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
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file(ec) || entry.path().extension() != ".gguf") continue;
        PresentModel m;
        m.path = entry.path();
        m.size = entry.file_size(ec);
        m.name = entry.path().stem().string();
        for (const KnownModel& k : known_models()) {
            if (k.file == entry.path().filename().string()) {
                m.known = k;
                m.name = k.name;
            }
        }
        out.push_back(std::move(m));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
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
    throw std::runtime_error("no such model file or known model name: '" +
                             std::string(name_or_path) + "' (see `pensieve models --known`)");
}

}  // namespace pensieve::registry
