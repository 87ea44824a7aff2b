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

constexpr uint32_t kU8Type = 0;
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

// Files of about `bytes` made of one kind of small value, each of which takes
// several times its size in the file once parsed. All are valid files.
struct Shape {
    const char* name;
    std::vector<uint8_t> (*make)(uint64_t bytes);
};

// Patches the u64 at `at` (a count written as 0 before the items were known).
void set_u64(ByteSink& s, size_t at, uint64_t v) {
    std::memcpy(s.bytes().data() + at, &v, sizeof v);
}

// A file of one array `key` of `elem_type`, with as many elements as
// `element` must write to fill about `bytes`.
std::vector<uint8_t> array_filling(uint64_t bytes, const char* key, uint32_t elem_type,
                                   void (*element)(ByteSink&)) {
    ByteSink s = header(0, 1);
    s.string(key);
    s.u32(kArrayType);
    s.u32(elem_type);
    const size_t count_at = s.size();
    s.u64(0);
    uint64_t n = 0;
    for (; s.size() < bytes; ++n) element(s);
    set_u64(s, count_at, n);
    return s.bytes();
}

const Shape kShapes[] = {
    {"many u8 entries with short keys",
     [](uint64_t bytes) {
         ByteSink s = header(0, 0);
         uint64_t n = 0;
         for (; s.size() < bytes; ++n) {
             s.string(std::to_string(n));
             s.u32(kU8Type);
             s.u8(1);
         }
         set_u64(s, 16, n);
         return s.bytes();
     }},
    {"entries with long keys and long strings",
     [](uint64_t bytes) {
         ByteSink s = header(0, 0);
         uint64_t n = 0;
         for (; s.size() < bytes; ++n) {
             s.string("general.some_long_key." + std::to_string(n));
             s.u32(kStringType);
             s.string("a string past the inline buffer");
         }
         set_u64(s, 16, n);
         return s.bytes();
     }},
    {"an array of empty arrays",
     [](uint64_t bytes) {
         return array_filling(bytes, "a", kArrayType, [](ByteSink& s) {
             s.u32(kU8Type);
             s.u64(0);
         });
     }},
    {"arrays of small arrays of empty arrays",
     [](uint64_t bytes) {
         return array_filling(bytes, "a", kArrayType, [](ByteSink& s) {
             s.u32(kArrayType);
             s.u64(100);
             for (int i = 0; i < 100; ++i) {
                 s.u32(kU8Type);
                 s.u64(0);
             }
         });
     }},
    {"an array of empty strings",
     [](uint64_t bytes) {
         return array_filling(bytes, "tokens", kStringType, [](ByteSink& s) { s.string(""); });
     }},
    {"an array of strings past the inline buffer",
     [](uint64_t bytes) {
         return array_filling(bytes, "tokens", kStringType,
                              [](ByteSink& s) { s.string("sixteen bytes..."); });
     }},
    {"many one-element tensors",
     [](uint64_t bytes) {
         GgufWriter w;
         // Each tensor: 33 bytes of info and 32 of (aligned) data.
         for (uint64_t i = 0; i < bytes / 65; ++i) {
             w.add_tensor(std::to_string(i), TensorType::F32, {1}, std::vector<uint8_t>(4));
         }
         return w.to_bytes();
     }},
};

TEST(GgufParseMemory, TheEstimateIsAnUpperBoundOfWhatTheParsedFileHolds) {
    for (const Shape& shape : kShapes) {
        SCOPED_TRACE(shape.name);
        const std::vector<uint8_t> bytes = shape.make(256 << 10);
        const HeapWatch watch;
        const GgufFile f = GgufFile::parse(bytes);
        EXPECT_GE(f.parsed_bytes(), watch.held());
        EXPECT_LE(f.parsed_bytes(), 2 * watch.held());  // and not far above it
    }
    const std::vector<uint8_t> sample = testing::sample_writer().to_bytes();
    const HeapWatch watch;
    const GgufFile f = GgufFile::parse(sample);
    EXPECT_GE(f.parsed_bytes(), watch.held());
}

TEST(GgufParseMemory, MetadataOfEveryShapeIsRefusedPastTheLimitBeforeItIsHeld) {
    Limits limits;
    limits.max_parsed_bytes = 2 << 20;
    // What the parser holds beyond the parsed values: names for messages.
    const uint64_t slack = 64 << 10;
    for (const Shape& shape : kShapes) {
        SCOPED_TRACE(shape.name);
        const std::vector<uint8_t> bytes = shape.make(1 << 20);  // half the limit
        EXPECT_GT(GgufFile::parse(bytes).parsed_bytes(), limits.max_parsed_bytes);
        const HeapWatch watch;
        testing::expect_rejected(bytes, "past their memory limit of 2097152 bytes", limits);
        EXPECT_LE(watch.peak(), limits.max_parsed_bytes + slack);
    }
}

TEST(GgufParseMemory, AnArrayCountThatLiesIsRefusedBeforeItsStorageIsReserved) {
    // 128k strings claimed, as many as the file's bytes could hold, but the
    // second one is cut short: the vector for all of them (4 MiB) must not be
    // reserved before the count is charged.
    ByteSink s = header(0, 1);
    s.string("tokens");
    s.u32(kArrayType);
    s.u32(kStringType);
    s.u64(128 << 10);
    s.string("a");
    s.u64(uint64_t{1} << 40);
    s.bytes().resize(s.size() + (1 << 20));
    Limits limits;
    limits.max_parsed_bytes = 1 << 20;
    const HeapWatch watch;
    testing::expect_rejected(s.bytes(), "'tokens': would take the parsed metadata", limits);
    EXPECT_LT(watch.peak(), limits.max_parsed_bytes);
}

TEST(GgufParseMemory, AVocabularyAsLargeAsGemma3sTakesAFractionOfTheDefaultLimit) {
    const size_t n = 262144;
    std::vector<std::string> tokens(n);
    for (size_t i = 0; i < n; ++i) tokens[i] = std::string(1 + i % 24, 'a' + i % 26);
    GgufWriter w;
    w.set("tokenizer.ggml.tokens", make_array(tokens));
    w.set("tokenizer.ggml.scores", make_array(std::vector<float>(n)));
    w.set("tokenizer.ggml.token_type", make_array(std::vector<int32_t>(n)));
    const std::vector<uint8_t> bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    EXPECT_LT(f.parsed_bytes() * 8, Limits{}.max_parsed_bytes);
}

}  // namespace
}  // namespace pensieve::gguf
