// summarize() reports the facts `pensieve info` prints.
#include <gtest/gtest.h>

#include "gguf/summary.hpp"
#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

TEST(GgufSummary, CountsParametersAndTheQuantizationMix) {
    const auto bytes = testing::sample_writer().to_bytes();
    const Summary s = summarize(GgufFile::parse(bytes));
    EXPECT_EQ(s.architecture, "llama");
    EXPECT_EQ(s.name, "tiny");
    EXPECT_EQ(s.tensor_count, 3u);
    EXPECT_EQ(s.parameters, 64u * 3 + 64 * 64 + 64);
    ASSERT_EQ(s.types.size(), 3u);
    EXPECT_EQ(s.types.at("q4_0").tensors, 1u);
    EXPECT_EQ(s.types.at("q4_0").bytes, 64u * 64 / 32 * 18);
    EXPECT_EQ(s.types.at("f16").bytes, 128u);
    EXPECT_EQ(s.context_length, 128);
    EXPECT_EQ(s.embedding_length, 64);
    EXPECT_EQ(s.head_count, 4);
    EXPECT_EQ(s.head_count_kv, std::nullopt);
    EXPECT_EQ(s.vocab_size, 3u);
    EXPECT_FALSE(s.has_chat_template);
}

TEST(GgufSummary, PerLayerHeadCountsReportTheFirstLayer) {
    GgufWriter w;
    w.set("general.architecture", std::string("x"));
    w.set("x.attention.head_count", make_array<int32_t>({8, 4}));
    const auto bytes = w.to_bytes();
    EXPECT_EQ(summarize(GgufFile::parse(bytes)).head_count, 8);
}

}  // namespace
}  // namespace pensieve::gguf
