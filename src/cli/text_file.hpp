// Whole text files named on the command line (a chat template, an alias
// table, a conversation), read with a size bound so that a path such as
// /dev/zero or a wrong multi-gigabyte file is an error, not a process that
// reads until memory runs out.
#pragma once

#include <cstddef>
#include <string>

namespace pensieve::cli {

// The bytes of `path`. `option` names where the path came from in errors
// ("--chat-template: cannot read …", "… is larger than 1024 KiB").
std::string read_text_file(const std::string& path, const std::string& option, size_t max_bytes);

}  // namespace pensieve::cli
