// What parsing a file costs in memory and work stays in proportion to the
// file whatever its shape: the elements of a large array are not named one
// by one, and (Limits::max_parsed_bytes) the parsed metadata and tensor table
// never take more memory than the limit. The heap is measured by counting
// operator new, which is why these tests are an executable of their own.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gguf_test_util.hpp"
#include "heap_counter.hpp"

namespace pensieve::gguf {
namespace {

using testing::HeapWatch;

constexpr uint32_t kStringType = 8;
constexpr uint32_t kArrayType = 9;

ByteSink header(uint64_t n_tensors, uint64_t n_kv) {
    ByteSink s;
    s.u32(kMagic);
    s.u32(3);
    s.u64(n_tensors);
    s.u64(n_kv);
    return s;
}

TEST(GgufParseMemory, ElementsOfAnArrayUnderALongKeyAreNotNamedOneByOne) {
    // Each element's name ("'key'[i]") is built only for an error message;
    // built for every element it would copy the key once per element.
    const std::string key(60000, 'k');
    const uint64_t count = 10000;
    ByteSink s = header(0, 1);
    s.string(key);
    s.u32(kArrayType);
    s.u32(kStringType);
    s.u64(count);
    for (uint64_t i = 0; i < count; ++i) s.string("");
    const std::vector<uint8_t> bytes = s.bytes();

    const HeapWatch watch;
    const GgufFile f = GgufFile::parse(bytes);
    EXPECT_EQ(f.get_array(key)->count, count);
    // The strings' vector and a few copies of the key, not one per element.
    EXPECT_LT(watch.allocated(), count * sizeof(std::string) + 16 * key.size());
}

}  // namespace
}  // namespace pensieve::gguf
