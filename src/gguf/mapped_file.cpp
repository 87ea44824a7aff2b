// POSIX mmap of a file, read-only and private, placed on a 2 MiB boundary and
// marked for transparent huge pages.
#include "gguf/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gguf/error.hpp"

namespace pensieve::gguf {

namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;

// Maps `size` bytes of `fd` at a 2 MiB-aligned address: a PROT_NONE
// reservation one huge page longer is made, the file is mapped over it from
// its first 2 MiB boundary, and the reservation's ends are given back.
void* map_aligned(int fd, uint64_t size) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t span = size + kHugePage;
    void* reserved =
        ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) return MAP_FAILED;
    const auto start = reinterpret_cast<uintptr_t>(reserved);
    const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    void* p =
        ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        const int err = errno;
        ::munmap(reserved, span);
        errno = err;
        return MAP_FAILED;
    }
    const uintptr_t mapped_end = aligned + (size + page - 1) / page * page;
    if (aligned > start) ::munmap(reserved, aligned - start);
    if (start + span > mapped_end) {
        ::munmap(reinterpret_cast<void*>(mapped_end), start + span - mapped_end);
    }
    return p;
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error("not a regular file: " + path.string());
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
        void* p = map_aligned(fd, size_);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot map " + path.string() + ": " + std::strerror(err));
        }
        // Pages faulted in through this mapping are read as 2 MiB folios and
        // mapped by one page-table entry each: a decode step streams gigabytes,
        // and 4 KiB pages cost it a TLB miss every 4 KiB. A kernel without
        // transparent huge pages refuses the advice; the mapping works as is.
        ::madvise(p, size_, MADV_HUGEPAGE);
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void flush_and_uncache(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
    const bool synced = ::fsync(fd) == 0;
    const int err = errno;
    if (synced) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    if (!synced) throw Error("cannot flush " + path.string() + ": " + std::strerror(err));
}

}  // namespace pensieve::gguf
