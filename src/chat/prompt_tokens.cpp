// Rendering + trust-aware tokenization of a conversation.
#include "chat/prompt_tokens.hpp"

#include <charconv>

#include "chat/chat_template.hpp"
#include "chat/error.hpp"

namespace pensieve::chat {

namespace {

// Stands for message i's content in a second render: control bytes that no
// template prints on its own.
std::string content_marker(size_t i) {
    return "\x1e" + std::to_string(i) + "\x1f";
}

// The split of `rendered` when it is `marked` (the render with each content
// replaced by its marker) with the contents put back in place of the markers:
// the rest of `marked` came from the template alone. Empty when putting them
// back does not give `rendered` (the template changed or inspected a content).
std::vector<tokenizer::Segment> marked_segments(std::string_view rendered, std::string_view marked,
                                                const std::vector<std::string_view>& contents) {
    std::vector<tokenizer::Segment> out;
    size_t start = 0;  // template text not yet emitted
    size_t length = 0;
    for (size_t at = marked.find('\x1e'); at != std::string_view::npos;
         at = marked.find('\x1e', at + 1)) {
        const size_t end = marked.find('\x1f', at + 1);
        if (end == std::string_view::npos) break;
        size_t i = 0;
        const auto [ptr, ec] = std::from_chars(marked.data() + at + 1, marked.data() + end, i);
        if (ec != std::errc() || ptr != marked.data() + end || i >= contents.size()) continue;
        out.push_back({marked.substr(start, at - start), tokenizer::Specials::Parse});
        out.push_back({contents[i], tokenizer::Specials::AsText});
        length += (at - start) + contents[i].size();
        start = end + 1;
        at = end;
    }
    out.push_back({marked.substr(start), tokenizer::Specials::Parse});
    length += marked.size() - start;
    if (length != rendered.size()) return {};
    size_t pos = 0;
    for (const tokenizer::Segment& seg : out) {
        if (rendered.compare(pos, seg.text.size(), seg.text) != 0) return {};
        pos += seg.text.size();
    }
    return out;
}

}  // namespace

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
    // Render again with each content replaced by a marker: what surrounds the
    // markers is the template's own text. Finding the contents in the render
    // instead can mistake template text for a content that repeats it (a user
    // message "<|im_end|>\n<|im_start|>"), and the real content then counts
    // as template text; that search is only the fallback, for templates that
    // rewrite or inspect the contents.
    nlohmann::ordered_json marked = messages;
    std::vector<std::string_view> contents;
    for (size_t m = 0; marked.is_array() && m < marked.size(); ++m) {
        auto& msg = marked[m];
        if (!msg.is_object() || !msg.contains("content") || !msg["content"].is_string()) continue;
        contents.push_back(messages[m]["content"].get_ref<const std::string&>());
        msg["content"] = content_marker(contents.size() - 1);
    }
    std::string marked_render;
    std::vector<tokenizer::Segment> segments;
    try {
        marked_render = render(marked, tools);
        segments = marked_segments(rendered, marked_render, contents);
    } catch (const TemplateError&) {  // the template rejects the markers: fall back
    }
    if (segments.empty()) segments = trust_segments(rendered, messages);
    if (!continuation.empty()) segments.push_back({continuation, tokenizer::Specials::AsText});
    // Templates print the BOS themselves when the model wants one.
    return tokenizer_.encode(segments, {});
}

}  // namespace pensieve::chat
