// The built-in web page's files (web/ in the source tree), embedded into the
// binary at build time by embed_files.cmake: the page needs no data files,
// no CDN and no network. Each file carries its SHA-256, the base of its ETag.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::server {

struct EmbeddedFile {
    std::string_view name;                 // file name in web/, e.g. "chat.js"
    std::span<const unsigned char> bytes;  // the file's content
    std::string_view sha256;               // hex digest of the content
};

// Every embedded file, sorted by name (generated: web_assets_data.cpp).
const std::vector<EmbeddedFile>& embedded_web_files();

// The file named `name`, or nullptr.
const EmbeddedFile* find_web_file(std::string_view name);

// The Content-Type for a file name's extension ("application/octet-stream"
// for one the page does not use).
std::string content_type_for(std::string_view name);

}  // namespace pensieve::server
