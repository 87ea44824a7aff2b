// A corpus of hand-built malformed files, one per check the reader makes.
// Each must be rejected with an error naming the problem (and, under
// ASan/UBSan in CI, without any memory error or undefined behaviour).
#include <gtest/gtest.h>

#include <limits>

#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

using testing::expect_rejected;

constexpr uint32_t kStringType = 8;
constexpr uint32_t kArrayType = 9;
constexpr uint32_t kU32Type = 4;

ByteSink header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    ByteSink s;
    s.u32(kMagic);
    s.u32(version);
    s.u64(n_tensors);
    s.u64(n_kv);
    return s;
}

void kv_u32(ByteSink& s, const std::string& key, uint32_t v) {
    s.string(key);
    s.u32(kU32Type);
    s.u32(v);
}

void tensor_info(ByteSink& s, const std::string& name, const std::vector<uint64_t>& dims,
                 uint32_t type, uint64_t offset) {
    s.string(name);
    s.u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) s.u64(d);
    s.u32(type);
    s.u64(offset);
}

// Header with one f32 tensor of `dims`, padded data of `data_bytes`.
std::vector<uint8_t> one_tensor_file(const std::vector<uint64_t>& dims, uint32_t type,
                                     uint64_t offset, size_t data_bytes) {
    ByteSink s = header(1, 0);
    tensor_info(s, "t", dims, type, offset);
    s.pad_to(32);
    s.bytes().resize(s.size() + data_bytes, 0);
    return s.bytes();
}

std::vector<uint8_t> bytes_of(ByteSink s) {
    return s.bytes();
}

TEST(GgufMalformed, EmptyFile) {
    expect_rejected({}, "magic");
}

TEST(GgufMalformed, BadMagic) {
    ByteSink s = header(0, 0);
    s.bytes()[0] = 'X';
    expect_rejected(s.bytes(), "not a GGUF file");
}

TEST(GgufMalformed, UnsupportedVersions) {
    expect_rejected(bytes_of(header(0, 0, 1)), "unsupported GGUF version 1");
    expect_rejected(bytes_of(header(0, 0, 4)), "unsupported GGUF version 4");
}

TEST(GgufMalformed, CountsLargerThanTheFileCanHold) {
    expect_rejected(bytes_of(header(0, 1ull << 60)), "metadata count");
    expect_rejected(bytes_of(header(1ull << 60, 0)), "tensor count");
    expect_rejected(bytes_of(header(std::numeric_limits<uint64_t>::max(), 0)), "tensor count");
}

TEST(GgufMalformed, KeyLengthPastTheEnd) {
    ByteSink s = header(0, 1);
    s.u64(1000);  // below the 1 GiB cap, beyond the file
    s.raw("abc", 3);
    s.bytes().resize(s.size() + 32);  // enough left for one record, not for the key
    expect_rejected(s.bytes(), "truncated");
}

TEST(GgufMalformed, StringLongerThanTheCap) {
    ByteSink s = header(0, 1);
    s.string("k");
    s.u32(kStringType);
    s.string(std::string(17, 'x'));
    Limits small;
    small.max_string_bytes = 16;
    expect_rejected(s.bytes(), "exceeds the limit", small);
}

TEST(GgufMalformed, KeyLongerThanTheSpecAllows) {
    ByteSink s = header(0, 1);
    kv_u32(s, std::string(65536, 'k'), 1);
    expect_rejected(s.bytes(), "metadata key: string length 65536 exceeds the limit of 65535");
}

TEST(GgufMalformed, EmptyKey) {
    ByteSink s = header(0, 1);
    kv_u32(s, "", 1);
    expect_rejected(s.bytes(), "empty metadata key");
}

TEST(GgufMalformed, DuplicateKey) {
    ByteSink s = header(0, 2);
    kv_u32(s, "k", 1);
    kv_u32(s, "k", 2);
    expect_rejected(s.bytes(), "duplicate metadata key 'k'");
}

TEST(GgufMalformed, UnknownValueType) {
    ByteSink s = header(0, 1);
    s.string("k");
    s.u32(13);
    s.u32(0);
    expect_rejected(s.bytes(), "unknown value type id 13");
}

TEST(GgufMalformed, BoolThatIsNeitherZeroNorOne) {
    ByteSink s = header(0, 1);
    s.string("flag");
    s.u32(7);
    s.u8(2);
    expect_rejected(s.bytes(), "'flag': bool value 2");
    ByteSink a = header(0, 1);
    a.string("flags");
    a.u32(kArrayType);
    a.u32(7);
    a.u64(2);
    a.u8(1);
    a.u8(9);
    expect_rejected(a.bytes(), "'flags'[1]: bool value");
}

TEST(GgufMalformed, ArrayWithUnknownElementType) {
    ByteSink s = header(0, 1);
    s.string("arr");
    s.u32(kArrayType);
    s.u32(99);
    s.u64(0);
    expect_rejected(s.bytes(), "unknown value type id 99");
}

TEST(GgufMalformed, ArrayCountLargerThanTheFile) {
    ByteSink s = header(0, 1);
    s.string("arr");
    s.u32(kArrayType);
    s.u32(kU32Type);
    s.u64(1ull << 62);
    expect_rejected(s.bytes(), "array count");
    ByteSink strings = header(0, 1);
    strings.string("tokens");
    strings.u32(kArrayType);
    strings.u32(kStringType);
    strings.u64(1000);  // each string needs at least 8 bytes
    strings.string("only one");
    expect_rejected(strings.bytes(), "array count");
}

TEST(GgufMalformed, ArraysNestedPastTheDepthCap) {
    const uint32_t depth = 70;
    ByteSink s = header(0, 1);
    s.string("deep");
    s.u32(kArrayType);  // the value's type; each level below is (element type, count)
    for (uint32_t i = 0; i < depth; ++i) {
        s.u32(kArrayType);
        s.u64(1);
    }
    s.u32(kU32Type);
    s.u64(0);
    expect_rejected(s.bytes(), "nested deeper than 64");
}

TEST(GgufMalformed, NestedArrayWithUnknownElementType) {
    ByteSink s = header(0, 1);
    s.string("aa");
    s.u32(kArrayType);
    s.u32(kArrayType);
    s.u64(1);
    s.u32(42);  // the inner array's element type
    s.u64(0);
    expect_rejected(s.bytes(), "'aa'[0] element: unknown value type id 42");
}

TEST(GgufMalformed, AlignmentThatIsNotAPowerOfTwoOrNotU32) {
    ByteSink zero = header(0, 1);
    kv_u32(zero, "general.alignment", 0);
    expect_rejected(zero.bytes(), "not a power of two");
    ByteSink three = header(0, 1);
    kv_u32(three, "general.alignment", 48);
    expect_rejected(three.bytes(), "not a power of two");
    ByteSink wide = header(0, 1);
    wide.string("general.alignment");
    wide.u32(10);  // uint64
    wide.u64(32);
    expect_rejected(wide.bytes(), "must be uint32");
}

TEST(GgufMalformed, TensorNamesEmptyTooLongOrDuplicated) {
    ByteSink empty = header(1, 0);
    tensor_info(empty, "", {32}, 0, 0);
    expect_rejected(empty.bytes(), "empty tensor name");
    ByteSink long_name = header(1, 0);
    tensor_info(long_name, std::string(65, 'n'), {32}, 0, 0);
    expect_rejected(long_name.bytes(), "exceeds the limit of 64");
    ByteSink dup = header(2, 0);
    tensor_info(dup, "w", {8}, 0, 0);
    tensor_info(dup, "w", {8}, 0, 32);
    dup.pad_to(32);
    dup.bytes().resize(dup.size() + 64);
    expect_rejected(dup.bytes(), "duplicate tensor name 'w'");
}

TEST(GgufMalformed, DimensionCountOutOfRange) {
    expect_rejected(one_tensor_file({}, 0, 0, 32), "n_dims 0");
    expect_rejected(one_tensor_file({1, 1, 1, 1, 1}, 0, 0, 32), "n_dims 5");
}

TEST(GgufMalformed, ZeroOrNegativeDimensions) {
    expect_rejected(one_tensor_file({4, 0}, 0, 0, 32), "dimension 1 is 0");
    expect_rejected(one_tensor_file({static_cast<uint64_t>(-3)}, 0, 0, 32), "dimension 0 is -3");
}

TEST(GgufMalformed, ElementCountOrByteSizeOverflow) {
    expect_rejected(one_tensor_file({1ull << 32, 1ull << 32}, 0, 0, 32), "overflows");
    expect_rejected(one_tensor_file({1ull << 31, 1ull << 31, 4}, 0, 0, 32), "overflows");
    // 2^62 f32 elements fit int64 but 2^64 bytes do not fit uint64.
    expect_rejected(one_tensor_file({1ull << 31, 1ull << 31}, 0, 0, 32), "overflows");
}

TEST(GgufMalformed, UnknownOrRetiredTensorType) {
    expect_rejected(one_tensor_file({32}, 4, 0, 32), "unknown tensor type id 4");
    expect_rejected(one_tensor_file({32}, 1000, 0, 32), "unknown tensor type id 1000");
}

TEST(GgufMalformed, RowLengthNotAWholeNumberOfBlocks) {
    expect_rejected(one_tensor_file({33}, 2, 0, 64), "not a multiple of the q4_0 block size 32");
}

TEST(GgufMalformed, MisalignedTensorOffset) {
    expect_rejected(one_tensor_file({4}, 0, 8, 64), "not a multiple of the alignment");
}

TEST(GgufMalformed, TensorDataOutsideTheFile) {
    expect_rejected(one_tensor_file({64}, 0, 0, 100), "outside the data section");
    expect_rejected(one_tensor_file({8}, 0, 0xFFFFFFFFFFFFFFE0ull, 32), "outside the data section");
}

TEST(GgufMalformed, DataSectionStartsPastTheEnd) {
    ByteSink s = header(1, 0);
    tensor_info(s, "t", {1}, 0, 0);
    // No padding and no data: the aligned data start lies beyond the file.
    expect_rejected(s.bytes(), "past the end of the file");
}

TEST(GgufMalformed, OverlappingTensors) {
    ByteSink s = header(2, 0);
    tensor_info(s, "a", {16}, 0, 0);  // 64 bytes at 0
    tensor_info(s, "b", {8}, 0, 32);  // 32 bytes at 32: inside a
    s.pad_to(32);
    s.bytes().resize(s.size() + 128);
    expect_rejected(s.bytes(), "overlaps tensor 'a'");
}

TEST(GgufMalformed, OpeningSomethingThatIsNotAFile) {
    EXPECT_THROW(GgufFile::open("/nonexistent/model.gguf"), Error);
    EXPECT_THROW(GgufFile::open("/tmp"), Error);
}

}  // namespace
}  // namespace pensieve::gguf
