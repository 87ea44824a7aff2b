// Where models live on disk (~/.cache/pensieve/models, or $PENSIEVE_HOME/models)
// and how a `--model` argument (a path or a known name) becomes a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/known_models.hpp"

namespace pensieve::registry {

// $PENSIEVE_HOME if set, else $HOME/.cache/pensieve.
std::filesystem::path pensieve_home();

// pensieve_home() / "models".
std::filesystem::path models_dir();

struct PresentModel {
    std::string name;  // the known model's name, or the file stem for other files
    std::filesystem::path path;
    uint64_t size = 0;
    std::optional<KnownModel> known;  // set when the file name is a known model's
};

// The *.gguf files in `dir` (not temporary .partial files), sorted by name.
std::vector<PresentModel> list_models(const std::filesystem::path& dir);

// An existing file path is returned as is; a known model name or alias maps to
// its file in `dir`. Throws std::runtime_error with advice (e.g. "run
// `pensieve pull NAME`") when neither gives an existing file.
std::filesystem::path resolve_model(std::string_view name_or_path,
                                    const std::filesystem::path& dir);

}  // namespace pensieve::registry
