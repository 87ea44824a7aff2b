// The one error type of the GGUF reader: what is wrong, which field, where.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pensieve::gguf {

class Error : public std::runtime_error {
  public:
    // `offset` is the byte offset in the file where the offending field starts.
    Error(const std::string& message, uint64_t offset)
        : std::runtime_error(message + " (at byte " + std::to_string(offset) + ")"),
          offset_(offset) {}

    // For failures that are not about a position in the file (open, mmap).
    explicit Error(const std::string& message) : std::runtime_error(message) {}

    uint64_t offset() const { return offset_; }

    // The same error, its message led by the name of the file it is about.
    Error in_file(const std::string& name) const {
        Error e(name + ": " + what());
        e.offset_ = offset_;
        return e;
    }

  private:
    uint64_t offset_ = 0;
};

}  // namespace pensieve::gguf
