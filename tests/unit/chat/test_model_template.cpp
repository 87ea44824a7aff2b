// Choosing a GGUF model's chat template: its own, else a built-in one by architecture,
// else ChatML; bos/eos strings come from the vocabulary.
#include <gtest/gtest.h>

#include "chat/chat_template.hpp"
#include "chat/model_template.hpp"
#include "gguf/writer.hpp"

using namespace pensieve;

namespace {

gguf::GgufFile model_file(std::vector<uint8_t>& storage, const std::string& arch,
                          const std::string* chat_template) {
    gguf::GgufWriter w;
    w.set("general.architecture", arch);
    gguf::Array tokens;
    tokens.elem_type = gguf::ValueType::String;
    tokens.strings = {"<unk>", "<s>", "</s>"};
    tokens.count = tokens.strings.size();
    w.set("tokenizer.ggml.tokens", tokens);
    w.set("tokenizer.ggml.bos_token_id", uint32_t{1});
    w.set("tokenizer.ggml.eos_token_id", uint32_t{2});
    if (chat_template) w.set("tokenizer.chat_template", *chat_template);
    storage = w.to_bytes();
    return gguf::GgufFile::parse(storage);
}

}  // namespace

TEST(ChatModelTemplate, UsesTheModelsOwnTemplateFirst) {
    std::vector<uint8_t> bytes;
    const std::string own = "{{ bos_token }}own";
    const auto t = chat::model_chat_template(model_file(bytes, "gemma3", &own));
    EXPECT_EQ(t.origin, chat::ModelChatTemplate::Origin::Model);
    EXPECT_EQ(t.source, own);
    EXPECT_EQ(t.bos_token, "<s>");
    EXPECT_EQ(t.eos_token, "</s>");
}

TEST(ChatModelTemplate, FallsBackToTheBuiltInGemma3Template) {
    std::vector<uint8_t> bytes;
    const auto t = chat::model_chat_template(model_file(bytes, "gemma3", nullptr));
    EXPECT_EQ(t.origin, chat::ModelChatTemplate::Origin::BuiltIn);
    EXPECT_EQ(t.source, *chat::builtin_template_for_architecture("gemma3"));
}

TEST(ChatModelTemplate, FallsBackToChatMLOtherwise) {
    std::vector<uint8_t> bytes;
    const auto t = chat::model_chat_template(model_file(bytes, "llama", nullptr));
    EXPECT_EQ(t.origin, chat::ModelChatTemplate::Origin::ChatMLFallback);
    EXPECT_EQ(t.source, chat::chatml_template());
    EXPECT_STREQ(chat::origin_name(t.origin), "chatml-fallback");
}
