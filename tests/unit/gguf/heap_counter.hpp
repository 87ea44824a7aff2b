// Counts the heap bytes the code under test allocates, for tests that bound
// the memory a parse may take. Linking this header's definitions replaces the
// global operator new and delete, so it belongs in a test executable of its
// own (see CMakeLists.txt); include it from exactly one file there.
#pragma once

#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace pensieve::gguf::testing {

struct HeapCounters {
    uint64_t live = 0;       // bytes allocated and not yet freed
    uint64_t peak = 0;       // the most `live` has been since the last reset
    uint64_t allocated = 0;  // every byte ever allocated
};
inline HeapCounters g_heap;

// Watches the heap from its construction: what was allocated in between,
// the peak above the starting point, and what is still held.
class HeapWatch {
  public:
    HeapWatch() : start_(g_heap.live), allocated_at_start_(g_heap.allocated) {
        g_heap.peak = g_heap.live;
    }
    uint64_t peak() const { return g_heap.peak - start_; }
    uint64_t held() const { return g_heap.live > start_ ? g_heap.live - start_ : 0; }
    uint64_t allocated() const { return g_heap.allocated - allocated_at_start_; }

  private:
    uint64_t start_;
    uint64_t allocated_at_start_;
};

}  // namespace pensieve::gguf::testing

// Usable sizes, as malloc reports them, so that frees balance allocations.
void* operator new(std::size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    auto& h = pensieve::gguf::testing::g_heap;
    const uint64_t size = malloc_usable_size(p);
    h.live += size;
    h.allocated += size;
    if (h.live > h.peak) h.peak = h.live;
    return p;
}
void* operator new[](std::size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    pensieve::gguf::testing::g_heap.live -= malloc_usable_size(p);
    std::free(p);
}
void operator delete[](void* p) noexcept {
    operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    operator delete(p);
}
