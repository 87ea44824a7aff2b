// Where models live on disk (~/.cache/pensieve/models, or $PENSIEVE_HOME/models)
// and how a `--model` argument (a path, a known name, or the name of a file
// in the model directory) becomes a file. A model's name is its known name
// or its file stem; a split GGUF (NAME-00001-of-00003.gguf …) is one model
// named NAME.
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
    std::string name;            // the known model's name, or the file stem for other files
    std::filesystem::path path;  // the file (the first part of a split model)
    std::vector<std::filesystem::path> files;  // every file of the model, `path` first
    int split_count = 1;  // parts the file names announce (files.size() when all present)
    uint64_t size = 0;    // bytes over all files
    std::optional<KnownModel> known;  // set when the file name is a known model's
};

// The *.gguf files in `dir` (not temporary .partial files), sorted by name.
std::vector<PresentModel> list_models(const std::filesystem::path& dir);

// The model of `dir` called `name` (its name, exactly or ignoring case, or its
// file name); nullopt when none is.
std::optional<PresentModel> find_present_model(std::string_view name,
                                               const std::filesystem::path& dir);

// An existing file path is returned as is; a known model name or alias maps to
// its file in `dir`; any other name is looked up with find_present_model.
// Throws std::runtime_error with advice (e.g. "run `pensieve pull NAME`")
// when none gives an existing file.
std::filesystem::path resolve_model(std::string_view name_or_path,
                                    const std::filesystem::path& dir);

}  // namespace pensieve::registry
