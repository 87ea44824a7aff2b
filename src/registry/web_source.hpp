// The pure parsing behind `pensieve pull` from the web: source strings
// (hf://OWNER/REPO[@REV]/FILE.gguf, OWNER/REPO[@REV]:QUANT, https://…/FILE.gguf),
// split-file names (NAME-00001-of-00003.gguf), picking a quantization from a
// repository's file list, and the hash and size a server states in its
// headers. Everything here takes untrusted text and throws
// std::invalid_argument (source strings) or std::runtime_error (server data)
// with a message for the user; it never touches the network or the disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::registry {

struct WebSource {
    enum class Kind { HfFile, HfQuant, Url };
    Kind kind = Kind::Url;
    std::string owner, repo;        // Hugging Face repository (HfFile, HfQuant)
    std::string revision;           // branch, tag or commit; "main" unless given
    std::string file;               // path inside the repository (HfFile)
    std::string quant;              // e.g. "Q4_K_M" (HfQuant)
    std::string url;                // the URL as given (Url)
    std::string file_name() const;  // last path component of `file` or of the URL path
};

// nullopt when `text` is not a web source (then it is a known model's name).
// Throws std::invalid_argument naming the problem for a malformed one.
std::optional<WebSource> parse_web_source(std::string_view text);

// "{endpoint}/{owner}/{repo}/resolve/{revision}/{file}", each path segment
// percent-encoded (all but letters, digits, '-', '.', '_' and '~').
std::string hf_resolve_url(const std::string& endpoint, const WebSource& source,
                           const std::string& file);
// "{endpoint}/api/models/{owner}/{repo}" (+ "/revision/{rev}" unless main).
std::string hf_model_info_url(const std::string& endpoint, const WebSource& source);

// A part of a split GGUF: "<prefix>-<index>-of-<count>.gguf", 1-based index.
struct SplitName {
    std::string prefix;
    int index = 0;
    int count = 0;
    int digits = 5;  // width of the zero-padded numbers as written
};
std::optional<SplitName> parse_split_name(std::string_view file_name);
std::string split_part_name(const SplitName& split, int index);

// The `siblings[].rfilename` entries of a Hugging Face model-info answer.
// Throws std::runtime_error when the JSON is malformed or lacks the list.
std::vector<std::string> parse_model_file_list(std::string_view json_text);

// The .gguf file of `files` whose name ends with the quantization `quant`
// (case-insensitive, after '-' or '.'; split parts count as their first part;
// mmproj projector files are skipped). Listed names are untrusted: one that
// is not a path a user could type (control characters or NUL, an empty, "."
// or ".." component, a character outside letters, digits, '.', '_', '-' and
// '+', over 512 bytes) is skipped. Throws std::runtime_error listing the
// quantizations present when none or several distinct files match, or
// naming (escaped) a skipped name when only such names match.
std::string select_quant_file(const std::vector<std::string>& files, std::string_view quant);

// The quantization suffixes found in `files` (for error messages), sorted.
std::vector<std::string> available_quants(const std::vector<std::string>& files);

// A SHA-256 from an entity tag: 64 hex digits, optionally quoted and with a
// weak "W/" prefix; lowercased. nullopt for anything else (e.g. git's SHA-1).
std::optional<std::string> sha256_from_etag(std::string_view etag);

// The total size from "bytes START-END/TOTAL"; nullopt for "*" or malformed.
std::optional<uint64_t> total_from_content_range(std::string_view value);
// The START of "bytes START-END/TOTAL"; nullopt when malformed.
std::optional<uint64_t> start_from_content_range(std::string_view value);

// A decimal unsigned integer, nothing else; nullopt otherwise or on overflow.
std::optional<uint64_t> parse_u64(std::string_view text);

}  // namespace pensieve::registry
