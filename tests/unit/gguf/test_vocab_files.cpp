// The vocabulary-only GGUF files in tests/data/vocab (zero tensors)
// load, and hold what their README says.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/file.hpp"

namespace pensieve::gguf {
namespace {

TEST(GgufVocabFiles, EveryVocabOnlyFileLoadsWithItsTokens) {
    const std::filesystem::path dir = std::filesystem::path(PENSIEVE_SOURCE_DIR) / "tests/data/vocab";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int loaded = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".gguf") continue;
        SCOPED_TRACE(entry.path().filename().string());
        const GgufFile f = GgufFile::open(entry.path());
        EXPECT_TRUE(f.tensors().empty());
        const Array* tokens = f.get_array("tokenizer.ggml.tokens");
        ASSERT_NE(tokens, nullptr);
        EXPECT_EQ(tokens->elem_type, ValueType::String);
        EXPECT_GT(tokens->count, 30000u);
        EXPECT_TRUE(f.get_string("tokenizer.ggml.model").has_value());
        ++loaded;
    }
    EXPECT_EQ(loaded, 9);  // the nine .gguf files listed in the README
}

}  // namespace
}  // namespace pensieve::gguf
