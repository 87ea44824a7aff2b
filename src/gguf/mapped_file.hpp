// A read-only memory mapping of a whole file. Tensors are views into it, so
// weights live in the page cache and are never copied. The mapping starts on
// a 2 MiB boundary and asks for transparent huge pages: pages it reads in
// from disk come as 2 MiB folios mapped whole. Pages already in the page
// cache keep the folio size they were read or written with.
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

// Writes a just-written file's pages to disk and drops its pages from the
// page cache (those no process maps), so that the next MappedFile of it reads
// it in 2 MiB folios rather than keeping the small ones the writes made.
// Throws gguf::Error when the file cannot be opened or flushed.
void flush_and_uncache(const std::filesystem::path& path);

}  // namespace pensieve::gguf
