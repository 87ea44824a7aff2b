// `pensieve pull` from the web: a Hugging Face file (hf://OWNER/REPO/FILE.gguf),
// a quantization picked from a repository's file list (OWNER/REPO:QUANT), or
// any https://…/FILE.gguf URL. Each file is downloaded into
// `<models_dir>/<file name>.partial` (resumed with HTTP Range when a previous
// attempt left one), checked to start with the GGUF magic, hashed, compared
// with the SHA-256 the server states (Hugging Face's X-Linked-Etag) or the one
// given (with neither, it must open as a whole GGUF file instead), and only
// then renamed to its final name. All parts of a split GGUF are fetched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "registry/web_source.hpp"

namespace pensieve::registry {

struct WebPullProgress {
    std::string file;  // file name being fetched
    size_t part = 0;   // 0-based, over the files of a split model
    size_t parts = 1;
    uint64_t resumed_from = 0;  // bytes already present from an earlier attempt
    uint64_t bytes_done = 0;    // bytes of this file present now
    uint64_t bytes_total = 0;   // 0 when the server did not say
    bool done = false;          // this file is complete and verified
};

struct WebPullOptions {
    std::filesystem::path models_dir;
    std::string endpoint = "https://huggingface.co";  // Hugging Face base URL, no trailing '/'
    std::string token;   // sent as a bearer token to the Hugging Face endpoint only
    std::string sha256;  // expected hash of a single-file download, lowercase hex, or ""
    bool force = false;  // download again over an existing file
    std::function<void(const WebPullProgress&)> on_progress = [](const WebPullProgress&) {};
    std::function<void(const std::string&)> on_note = [](const std::string&) {};
};

struct WebPullResult {
    std::vector<std::filesystem::path> paths;  // every file, first part first
    bool already_present = false;              // nothing was downloaded
};

// Throws std::runtime_error with a message for the user on any failure. A
// lost connection keeps `<file>.partial` for the next attempt (the message
// says so); every other failure removes it. The final name never holds an
// incomplete or unverified file.
WebPullResult pull_from_web(const WebSource& source, const WebPullOptions& options);

}  // namespace pensieve::registry
