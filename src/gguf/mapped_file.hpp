// A read-only memory mapping of a whole file. Tensors are views into it, so
// weights live in the page cache and are never copied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace pensieve::gguf {

class MappedFile {
  public:
    // Throws gguf::Error naming the path when the file cannot be opened or mapped.
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }

  private:
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

}  // namespace pensieve::gguf
