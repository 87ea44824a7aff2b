// Which chat template a GGUF model uses: its own tokenizer.chat_template, else a
// built-in one chosen by general.architecture (Gemma 3 GGUFs often ship without one),
// else ChatML. Also resolves the bos/eos token strings templates print.
#pragma once

#include <string>

#include "gguf/file.hpp"

namespace pensieve::chat {

struct ModelChatTemplate {
    enum class Origin { Model, BuiltIn, ChatMLFallback, File };  // File: --chat-template
    std::string source;
    Origin origin = Origin::Model;
    std::string architecture;
    std::string bos_token;  // "" when the file names none
    std::string eos_token;
};

ModelChatTemplate model_chat_template(const gguf::GgufFile& file);

const char* origin_name(ModelChatTemplate::Origin origin);

}  // namespace pensieve::chat
