// Template selection for a GGUF model. See model_template.hpp.
#include "chat/model_template.hpp"

#include <variant>

#include "chat/chat_template.hpp"

namespace pensieve::chat {

namespace {

std::string token_text(const gguf::GgufFile& file, const char* id_key) {
    const auto id = file.get_int(id_key);
    const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
    if (!id || !tokens) return "";
    const auto* array = std::get_if<gguf::Array>(tokens);
    if (!array || *id < 0 || static_cast<uint64_t>(*id) >= array->strings.size()) return "";
    return array->strings[static_cast<std::size_t>(*id)];
}

}  // namespace

ModelChatTemplate model_chat_template(const gguf::GgufFile& file) {
    ModelChatTemplate t;
    t.architecture = file.get_string("general.architecture").value_or("");
    t.bos_token = token_text(file, "tokenizer.ggml.bos_token_id");
    t.eos_token = token_text(file, "tokenizer.ggml.eos_token_id");
    if (auto own = file.get_string("tokenizer.chat_template"); own && !own->empty()) {
        t.source = std::move(*own);
        t.origin = ModelChatTemplate::Origin::Model;
    } else if (auto builtin = builtin_template_for_architecture(t.architecture)) {
        t.source = std::string(*builtin);
        t.origin = ModelChatTemplate::Origin::BuiltIn;
    } else {
        t.source = std::string(chatml_template());
        t.origin = ModelChatTemplate::Origin::ChatMLFallback;
    }
    return t;
}

const char* origin_name(ModelChatTemplate::Origin origin) {
    switch (origin) {
        case ModelChatTemplate::Origin::Model:
            return "model";
        case ModelChatTemplate::Origin::BuiltIn:
            return "built-in";
        case ModelChatTemplate::Origin::File:
            return "file";
        case ModelChatTemplate::Origin::ChatMLFallback:
            return "chatml-fallback";
    }
    return "?";
}

}  // namespace pensieve::chat
