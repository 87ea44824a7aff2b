// Writer → reader round trips: every value type, nested arrays, tensors,
// alignment and version variants.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

using testing::random_bytes;
using testing::sample_writer;

TEST(GgufRoundTrip, EveryScalarValueTypeComesBackExactly) {
    GgufWriter w;
    w.set("u8", uint8_t{250});
    w.set("i8", int8_t{-7});
    w.set("u16", uint16_t{65000});
    w.set("i16", int16_t{-30000});
    w.set("u32", uint32_t{4000000000u});
    w.set("i32", int32_t{-2000000000});
    w.set("f32", 1.5f);
    w.set("bool_t", true);
    w.set("bool_f", false);
    w.set("str", std::string("héllo\n\0x", 9));
    w.set("u64", std::numeric_limits<uint64_t>::max());
    w.set("i64", std::numeric_limits<int64_t>::min());
    w.set("f64", -0.0);
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    ASSERT_EQ(f.metadata().size(), 13u);
    EXPECT_EQ(std::get<uint8_t>(*f.find("u8")), 250);
    EXPECT_EQ(std::get<int8_t>(*f.find("i8")), -7);
    EXPECT_EQ(std::get<uint16_t>(*f.find("u16")), 65000);
    EXPECT_EQ(std::get<int16_t>(*f.find("i16")), -30000);
    EXPECT_EQ(std::get<uint32_t>(*f.find("u32")), 4000000000u);
    EXPECT_EQ(std::get<int32_t>(*f.find("i32")), -2000000000);
    EXPECT_EQ(std::get<float>(*f.find("f32")), 1.5f);
    EXPECT_EQ(f.get_bool("bool_t"), true);
    EXPECT_EQ(f.get_bool("bool_f"), false);
    EXPECT_EQ(f.get_string("str"), std::string("héllo\n\0x", 9));
    EXPECT_EQ(std::get<uint64_t>(*f.find("u64")), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(std::get<int64_t>(*f.find("i64")), std::numeric_limits<int64_t>::min());
    const double f64 = std::get<double>(*f.find("f64"));
    EXPECT_EQ(f64, 0.0);
    EXPECT_TRUE(std::signbit(f64));
    // Metadata order is the file's order.
    EXPECT_EQ(f.metadata().front().key, "u8");
    EXPECT_EQ(f.metadata().back().key, "f64");
}

TEST(GgufRoundTrip, ArraysOfEveryElementTypeAndNestedArrays) {
    GgufWriter w;
    w.set("a_u8", make_array<uint8_t>({1, 2, 3}));
    w.set("a_i16", make_array<int16_t>({-1, 2}));
    w.set("a_u32", make_array<uint32_t>({7}));
    w.set("a_i32", make_array<int32_t>({-5, 5}));
    w.set("a_f32", make_array<float>({0.25f, -8.f}));
    w.set("a_bool", make_array<bool>({true, false, true}));
    w.set("a_u64", make_array<uint64_t>({1ull << 40}));
    w.set("a_i64", make_array<int64_t>({-(1ll << 40)}));
    w.set("a_f64", make_array<double>({3.25}));
    w.set("a_str", make_array<std::string>({"", "x", "▁token"}));
    w.set("a_empty", make_array<int32_t>({}));
    w.set("a_nested", make_array<Array>({make_array<Array>({make_array<std::string>({"deep"})}),
                                         make_array<Array>({})}));
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    EXPECT_EQ(*f.get_array("a_u8")->as<uint8_t>(), (std::vector<uint8_t>{1, 2, 3}));
    EXPECT_EQ(*f.get_array("a_i16")->as<int16_t>(), (std::vector<int16_t>{-1, 2}));
    EXPECT_EQ(*f.get_array("a_u32")->as<uint32_t>(), (std::vector<uint32_t>{7}));
    EXPECT_EQ(*f.get_array("a_i32")->as<int32_t>(), (std::vector<int32_t>{-5, 5}));
    EXPECT_EQ(*f.get_array("a_f32")->as<float>(), (std::vector<float>{0.25f, -8.f}));
    EXPECT_EQ(f.get_array("a_bool")->scalars, (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_EQ(*f.get_array("a_u64")->as<uint64_t>(), (std::vector<uint64_t>{1ull << 40}));
    EXPECT_EQ(*f.get_array("a_i64")->as<int64_t>(), (std::vector<int64_t>{-(1ll << 40)}));
    EXPECT_EQ(*f.get_array("a_f64")->as<double>(), (std::vector<double>{3.25}));
    EXPECT_EQ(f.get_array("a_str")->strings, (std::vector<std::string>{"", "x", "▁token"}));
    EXPECT_EQ(f.get_array("a_empty")->count, 0u);
    const Array& nested = *f.get_array("a_nested");
    ASSERT_EQ(nested.arrays.size(), 2u);
    EXPECT_EQ(nested.arrays[0].arrays[0].strings, (std::vector<std::string>{"deep"}));
    EXPECT_EQ(nested.arrays[1].count, 0u);
    EXPECT_FALSE(f.get_array("a_u8")->as<int8_t>().has_value());  // wrong element type
}

TEST(GgufRoundTrip, TensorsAreViewsOfTheirBytesAtAlignedOffsets) {
    const GgufWriter w = sample_writer();
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    ASSERT_EQ(f.tensors().size(), 3u);
    const TensorInfo* q = f.find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, TensorType::Q4_0);
    EXPECT_EQ(q->dims, (std::vector<uint64_t>{64, 64}));
    EXPECT_EQ(q->n_elements, 64u * 64u);
    EXPECT_EQ(q->n_bytes, 64u * 64u / 32u * 18u);
    EXPECT_EQ(q->rows(), 64u);
    EXPECT_EQ((f.data_offset() + q->offset) % 32, 0u);
    const auto expected = random_bytes(q->n_bytes, 2);
    EXPECT_EQ(std::memcmp(q->data, expected.data(), q->n_bytes), 0);
    EXPECT_EQ(f.find_tensor("missing"), nullptr);
}

TEST(GgufRoundTrip, CustomAlignmentIsHonoured) {
    GgufWriter w = sample_writer();
    w.set("general.alignment", uint32_t{256});
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    EXPECT_EQ(f.alignment(), 256u);
    EXPECT_EQ(f.data_offset() % 256, 0u);
    for (const TensorInfo& t : f.tensors()) EXPECT_EQ(t.offset % 256, 0u) << t.name;
}

TEST(GgufRoundTrip, ProducedTensorsMatchTensorsGivenAsBytes) {
    const auto q8 = random_bytes(64 * 64 / 32 * 34, 7);
    GgufWriter given = sample_writer();
    given.add_tensor("extra", TensorType::Q8_0, {64, 64}, q8);
    GgufWriter produced = sample_writer();
    int calls = 0;
    produced.add_tensor("extra", TensorType::Q8_0, {64, 64}, [&](uint8_t* data, size_t n) {
        ++calls;
        ASSERT_EQ(n, q8.size());
        std::memcpy(data, q8.data(), n);
    });
    EXPECT_EQ(produced.to_bytes(), given.to_bytes());
    EXPECT_EQ(calls, 1);

    // write() streams the producers to the file: the same bytes again.
    const auto path = std::filesystem::temp_directory_path() /
                      ("pensieve_writer_" + std::to_string(::getpid()) + ".gguf");
    produced.write(path);
    EXPECT_EQ(calls, 2);
    std::ifstream f(path, std::ios::binary);
    const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(f)),
                                       std::istreambuf_iterator<char>());
    EXPECT_EQ(on_disk, given.to_bytes());
    std::filesystem::remove(path);
}

TEST(GgufRoundTrip, AFailingProducerLeavesNoFileBehind) {
    GgufWriter w = sample_writer();
    w.add_tensor("extra", TensorType::F32, {8}, [](uint8_t*, size_t) {
        throw std::runtime_error("out of random numbers");
    });
    const auto path = std::filesystem::temp_directory_path() /
                      ("pensieve_writer_fail_" + std::to_string(::getpid()) + ".gguf");
    EXPECT_THROW(w.write(path), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(GgufRoundTrip, VersionTwoLoads) {
    GgufWriter w(2);
    w.set("general.architecture", std::string("llama"));
    const auto bytes = w.to_bytes();
    EXPECT_EQ(GgufFile::parse(bytes).version(), 2u);
}

TEST(GgufRoundTrip, ZeroTensorsAndTrailingBytesLoad) {
    GgufWriter w;
    w.set("general.architecture", std::string("llama"));
    auto bytes = w.to_bytes();
    EXPECT_TRUE(GgufFile::parse(bytes).tensors().empty());
    auto with_tensors = sample_writer().to_bytes();
    with_tensors.insert(with_tensors.end(), 1000, 0xAB);
    EXPECT_EQ(GgufFile::parse(with_tensors).tensors().size(), 3u);
}

TEST(GgufRoundTrip, TypedGettersRejectTheWrongTypeByName) {
    const auto bytes = sample_writer().to_bytes();
    const GgufFile f = GgufFile::parse(bytes);
    EXPECT_EQ(f.get_int("llama.context_length"), 128);
    EXPECT_EQ(f.get_string("absent"), std::nullopt);
    try {
        (void)f.get_string("llama.context_length");
        ADD_FAILURE() << "expected a type error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'llama.context_length' should be a string"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW((void)f.get_array("general.name"), Error);
}

TEST(GgufRoundTrip, OpenMapsAFileFromDisk) {
    const auto path = std::filesystem::temp_directory_path() / "pensieve_roundtrip.gguf";
    sample_writer().write(path);
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.tensors().size(), 3u);
    EXPECT_EQ(f.file_size(), std::filesystem::file_size(path));
    std::filesystem::remove(path);
    EXPECT_THROW(GgufFile::open(path), Error);  // now missing
}

}  // namespace
}  // namespace pensieve::gguf
