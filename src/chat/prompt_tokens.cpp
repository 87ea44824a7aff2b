// Rendering + trust-aware tokenization of a conversation.
#include "chat/prompt_tokens.hpp"

#include "chat/chat_template.hpp"

namespace pensieve::chat {

PromptBuilder::PromptBuilder(const ModelChatTemplate& model_template,
                             const tokenizer::Tokenizer& tokenizer)
    : model_template_(model_template),
      template_(Template::parse(model_template.source)),
      tokenizer_(tokenizer) {}

std::string PromptBuilder::render(const nlohmann::ordered_json& messages,
                                  const nlohmann::ordered_json& tools) const {
    ChatInputs in;
    in.messages = messages;
    in.tools = tools;
    in.add_generation_prompt = true;
    in.bos_token = model_template_.bos_token;
    in.eos_token = model_template_.eos_token;
    return render_chat(template_, in);
}

std::vector<tokenizer::Segment> trust_segments(std::string_view rendered,
                                               const nlohmann::ordered_json& messages) {
    std::vector<tokenizer::Segment> out;
    size_t cursor = 0;
    for (const auto& msg : messages) {
        if (!msg.is_object() || !msg.contains("content") || !msg["content"].is_string()) continue;
        const std::string& content = msg["content"].get_ref<const std::string&>();
        if (content.empty()) continue;
        const size_t at = rendered.find(content, cursor);
        if (at == std::string_view::npos) continue;
        out.push_back({rendered.substr(cursor, at - cursor), tokenizer::Specials::Parse});
        out.push_back({rendered.substr(at, content.size()), tokenizer::Specials::AsText});
        cursor = at + content.size();
    }
    out.push_back({rendered.substr(cursor), tokenizer::Specials::Parse});
    return out;
}

std::vector<int32_t> PromptBuilder::build(const nlohmann::ordered_json& messages,
                                          const nlohmann::ordered_json& tools,
                                          const std::string& continuation) const {
    const std::string rendered = render(messages, tools);
    std::vector<tokenizer::Segment> segments = trust_segments(rendered, messages);
    if (!continuation.empty()) segments.push_back({continuation, tokenizer::Specials::AsText});
    // Templates print the BOS themselves when the model wants one.
    return tokenizer_.encode(segments, {});
}

}  // namespace pensieve::chat
