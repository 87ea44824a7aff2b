// Bounded reads of files named on the command line (see text_file.hpp).
#include "cli/text_file.hpp"

#include <fstream>
#include <stdexcept>

namespace pensieve::cli {

std::string read_text_file(const std::string& path, const std::string& option, size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(option + ": cannot read " + path);
    std::string text;
    char chunk[65536];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<size_t>(in.gcount()));
        if (text.size() > max_bytes) {
            throw std::runtime_error(option + ": " + path + " is larger than " +
                                     std::to_string(max_bytes >> 10) + " KiB");
        }
    }
    if (in.bad()) throw std::runtime_error(option + ": cannot read " + path);
    return text;
}

}  // namespace pensieve::cli
