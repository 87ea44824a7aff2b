// Every test vector in tests/data/vocab: the ids the Hugging Face reference
// tokenizers produce (no BOS/EOS, special-token text as plain text), and
// decode(encode(s)) == s.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

std::string show(const std::vector<TokenId>& ids) {
    std::string s;
    for (const TokenId id : ids) s += " " + std::to_string(id);
    return s;
}

class VocabVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, EncodeGivesTheReferenceIdsAndDecodeGivesTheTextBack) {
    const std::string name = GetParam();
    const auto dir = testing::vocab_dir();
    const auto gguf = dir / ("ggml-vocab-" + name + ".gguf");
    ASSERT_TRUE(std::filesystem::exists(gguf)) << gguf;
    const Tokenizer tok = Tokenizer::from_file(gguf);
    const auto inputs = testing::read_inputs(dir / ("ggml-vocab-" + name + ".gguf.inp"));
    const auto outputs = testing::read_outputs(dir / ("ggml-vocab-" + name + ".gguf.out"));
    ASSERT_EQ(inputs.size(), outputs.size());
    ASSERT_GT(inputs.size(), 10u);
    int failures = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const std::vector<TokenId> ids = tok.encode(inputs[i], Specials::AsText);
        EXPECT_EQ(show(ids), show(outputs[i])) << "vector " << i << ": \"" << inputs[i] << "\"";
        EXPECT_EQ(tok.decode(ids), inputs[i]) << "vector " << i;
        if (ids != outputs[i] && ++failures > 5) break;
    }
}

// The vocabularies with a .gguf file in tests/data/vocab (its README's table).
const std::vector<std::string> kVocabs = {"llama-spm",    "phi-3",  "gpt-2", "deepseek-coder",
                                          "deepseek-llm", "falcon", "mpt",   "refact",
                                          "starcoder"};
// Vectors whose vocabulary ships only inside full models (Llama 3, Qwen2),
// none of which is a test input here: kept with the data, not run.
const std::vector<std::string> kVectorsWithoutVocab = {"llama-bpe", "qwen2"};

TEST(VocabData, EveryVectorFileIsAccountedForAndEveryVocabHasItsVectors) {
    const auto dir = testing::vocab_dir();
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int inputs = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".inp") continue;
        ++inputs;
        std::string name = entry.path().filename().string();
        name = name.substr(std::string("ggml-vocab-").size());
        name = name.substr(0, name.size() - std::string(".gguf.inp").size());
        const bool listed = std::find(kVocabs.begin(), kVocabs.end(), name) != kVocabs.end() ||
                            std::find(kVectorsWithoutVocab.begin(), kVectorsWithoutVocab.end(),
                                      name) != kVectorsWithoutVocab.end();
        EXPECT_TRUE(listed) << name << " has vectors but is not listed in this test";
    }
    EXPECT_EQ(inputs, static_cast<int>(kVocabs.size() + kVectorsWithoutVocab.size()));
    for (const std::string& name : kVocabs) {
        for (const char* ext : {".gguf", ".gguf.inp", ".gguf.out"}) {
            EXPECT_TRUE(std::filesystem::exists(dir / ("ggml-vocab-" + name + ext))) << name << ext;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectors, ::testing::ValuesIn(kVocabs),
                         [](const auto& param_info) {
                             std::string n = param_info.param;
                             for (char& c : n) c = (c == '-') ? '_' : c;
                             return n;
                         });

}  // namespace
}  // namespace pensieve::tokenizer
