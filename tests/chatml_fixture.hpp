// The default model's chat setup without the model, for tests and fuzzers
// that need a real template and tokenizer from tests/data alone: GPT-2's
// byte-level BPE vocabulary with SmolLM2's two ChatML control tokens added,
// and SmolLM2's chat template (its source only).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "chat/model_template.hpp"
#include "gguf/file.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"

namespace pensieve::testing {

inline const std::string kTestData = std::string(PENSIEVE_SOURCE_DIR) + "/tests/data/";

inline tokenizer::Tokenizer chatml_gpt2_tokenizer() {
    tokenizer::Vocab v =
        tokenizer::load_vocab(gguf::GgufFile::open(kTestData + "vocab/ggml-vocab-gpt-2.gguf"));
    for (const char* text : {"<|im_start|>", "<|im_end|>"}) {
        v.index.emplace(text, static_cast<tokenizer::TokenId>(v.texts.size()));
        v.texts.emplace_back(text);
        v.scores.push_back(0.0f);
        v.types.push_back(tokenizer::TokenType::Control);
    }
    return tokenizer::Tokenizer(std::move(v));
}

// Throws when the template is missing: a missing input is a failure.
inline chat::ModelChatTemplate smollm2_template_source() {
    std::ifstream in(kTestData + "chat_templates/smollm2-135m-instruct.jinja", std::ios::binary);
    if (!in) throw std::runtime_error("missing the SmolLM2 template in tests/data");
    std::stringstream source;
    source << in.rdbuf();
    chat::ModelChatTemplate t;
    t.source = source.str();
    return t;
}

}  // namespace pensieve::testing
