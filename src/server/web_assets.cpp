// Looks up the embedded web files and names their media types.
#include "server/web_assets.hpp"

#include <algorithm>

namespace pensieve::server {

const EmbeddedFile* find_web_file(std::string_view name) {
    const std::vector<EmbeddedFile>& files = embedded_web_files();
    const auto it = std::ranges::find(files, name, &EmbeddedFile::name);
    return it == files.end() ? nullptr : &*it;
}

std::string content_type_for(std::string_view name) {
    struct Type {
        std::string_view extension;
        std::string_view media_type;
    };
    // Text types name their charset: the files are UTF-8, and a browser
    // must not guess (nosniff forbids it anyway).
    for (const Type& t :
         {Type{".html", "text/html; charset=utf-8"}, Type{".css", "text/css; charset=utf-8"},
          Type{".js", "text/javascript; charset=utf-8"}, Type{".svg", "image/svg+xml"},
          Type{".png", "image/png"}, Type{".ico", "image/x-icon"}}) {
        if (name.ends_with(t.extension)) return std::string(t.media_type);
    }
    return "application/octet-stream";
}

}  // namespace pensieve::server
