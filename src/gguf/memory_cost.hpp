// Estimates of the heap memory that parsed metadata and tensor infos hold,
// which the reader charges against Limits::max_parsed_bytes before it
// allocates (file.cpp). Each is at least what glibc's malloc takes: a block's
// size rounded up to 16 bytes plus a 16-byte header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pensieve::gguf::memory_cost {

constexpr uint64_t heap_block(uint64_t n) {
    return n == 0 ? 0 : ((n + 15) & ~uint64_t{15}) + 16;
}

// What a std::string of `len` bytes holds beyond its own object: nothing
// while it fits the object's inline buffer.
inline uint64_t string_heap(uint64_t len) {
    static const uint64_t inline_capacity = std::string().capacity();
    return len <= inline_capacity ? 0 : heap_block(len + 1);
}

// One entry of a name -> position hash map, beyond its key's string_heap: the
// node (next pointer, key, position, cached hash) and, since the buckets grow
// by doubling, up to two bucket pointers.
inline constexpr uint64_t index_entry =
    heap_block(sizeof(void*) + sizeof(std::string) + 2 * sizeof(size_t)) + 2 * sizeof(void*);

}  // namespace pensieve::gguf::memory_cost
