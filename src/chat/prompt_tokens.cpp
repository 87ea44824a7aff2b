// Rendering + trust-aware tokenization of a conversation.
#include "chat/prompt_tokens.hpp"

#include "chat/chat_template.hpp"

namespace pensieve::chat {

PromptBuilder::PromptBuilder(const ModelChatTemplate& model_template,
                             const tokenizer::Tokenizer& tokenizer)
    : model_template_(model_template),
      template_(Template::parse(model_template.source)),
      tokenizer_(tokenizer),
      thinks_(model_template.source.find("<think>") != std::string::npos),
      thinking_switch_(model_template.source.find("enable_thinking") != std::string::npos) {}

TrackedText PromptBuilder::render(const nlohmann::ordered_json& messages,
                                  const nlohmann::ordered_json& tools,
                                  const nlohmann::ordered_json& extra) const {
    ChatInputs in;
    in.messages = messages;
    in.tools = tools;
    if (extra.is_object()) in.extra = extra;
    in.add_generation_prompt = true;
    in.bos_token = model_template_.bos_token;
    in.eos_token = model_template_.eos_token;
    return render_chat_tracked(template_, in);
}

std::vector<tokenizer::Segment> prompt_segments(const TrackedText& rendered) {
    const std::string_view text = rendered.text;
    std::vector<tokenizer::Segment> out;
    std::size_t cursor = 0;
    for (const ByteRange& r : rendered.client.ranges()) {
        if (r.begin > cursor) {
            out.push_back({text.substr(cursor, r.begin - cursor), tokenizer::Specials::Parse});
        }
        out.push_back({text.substr(r.begin, r.end - r.begin), tokenizer::Specials::AsText});
        cursor = r.end;
    }
    if (cursor < text.size()) out.push_back({text.substr(cursor), tokenizer::Specials::Parse});
    return out;
}

std::vector<int32_t> PromptBuilder::build(const nlohmann::ordered_json& messages,
                                          const nlohmann::ordered_json& tools,
                                          const std::string& continuation,
                                          const nlohmann::ordered_json& extra,
                                          bool* ends_in_thinking) const {
    const TrackedText rendered = render(messages, tools, extra);
    std::vector<tokenizer::Segment> segments = prompt_segments(rendered);
    if (!continuation.empty()) segments.push_back({continuation, tokenizer::Specials::AsText});
    if (ends_in_thinking != nullptr) {
        // The prompt leaves a <think> open (a template that starts the reply
        // in reasoning, or a prefill that does): the reply begins inside it.
        const std::string tail = rendered.text + continuation;
        const size_t open = tail.rfind("<think>");
        const size_t close = tail.rfind("</think>");
        *ends_in_thinking =
            thinks_ && open != std::string::npos && (close == std::string::npos || close < open);
    }
    // Templates print the BOS themselves when the model wants one.
    return tokenizer_.encode(segments, {});
}

}  // namespace pensieve::chat
