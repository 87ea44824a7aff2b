// Every test vector in ../shared/testdata/vocab: the ids the Hugging Face
// reference tokenizers produce (no BOS/EOS, special-token text as plain
// text), and decode(encode(s)) == s.
#include <gtest/gtest.h>

#include <string>

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
    if (!std::filesystem::exists(gguf)) {
        GTEST_SKIP() << gguf << " is not in the test data (vectors need a model with this vocab)";
    }
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

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectors,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-coder",
                                           "deepseek-llm", "falcon", "mpt", "refact", "starcoder",
                                           "llama-bpe", "qwen2"),
                         [](const auto& param_info) {
                             std::string n = param_info.param;
                             for (char& c : n) c = (c == '-') ? '_' : c;
                             return n;
                         });

}  // namespace
}  // namespace pensieve::tokenizer
