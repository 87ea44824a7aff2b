// The pure parts of serving several models: glob patterns for the alias
// table, the alias file (JSON) that maps request `model` strings onto served
// models, memory sizes as `--max-memory` spells them, and which loaded model
// to unload when a limit is reached (least recently used, never a busy one).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::server {

// `*` matches any run of characters (none included), `?` any one character;
// everything else matches itself, ignoring ASCII case (clients spell model
// names in either case). Linear in |pattern| × |text| at worst.
bool glob_match(std::string_view pattern, std::string_view text);

struct AliasRule {
    std::string pattern;  // a glob over the request's `model` string
    std::string target;   // a served model's name (or anything that resolves to one)
};

// A bad alias file: says which file and what is wrong with it.
class AliasConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The alias file: a JSON object with one key, "aliases", whose value is an
// object of pattern → model name, tried in the file's order, e.g.
//   {"aliases": {"claude-*haiku*": "gemma3-270m", "*": "smollm2-135m-instruct"}}
// Throws AliasConfigError (naming `source`) for invalid JSON, another shape,
// an empty pattern or target, or an unknown top-level key.
std::vector<AliasRule> parse_alias_config(std::string_view text, const std::string& source);

// The first rule whose pattern matches `requested`; nullopt when none does.
std::optional<std::string> match_alias(const std::vector<AliasRule>& rules,
                                       std::string_view requested);

// "512MiB", "8GiB", "2G", "1500M", "4096" (MiB when no unit): bytes. Units
// are binary (K, M, G, T with or without "iB"/"B"). Throws
// std::invalid_argument for anything else, zero or an overflow.
int64_t parse_memory_size(std::string_view text);

// A loaded model as the unloading choice sees it.
struct LoadedCandidate {
    bool busy = false;       // requests running, queued or being answered
    uint64_t last_used = 0;  // a tick of the pool's clock; larger is more recent
};

// The index of the idle model used least recently; nullopt when every one is
// busy.
std::optional<size_t> choose_unload(const std::vector<LoadedCandidate>& loaded);

}  // namespace pensieve::server
