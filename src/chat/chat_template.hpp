// Rendering a conversation through a model's chat template, with the variables
// Hugging Face transformers passes (apply_chat_template -> render_jinja_template):
// messages, tools (None when absent), documents (None), add_generation_prompt, the
// special tokens, and any extra keyword arguments (e.g. enable_thinking, date_string).
//
// Typical use by the API layer:
//     auto tmpl = chat::Template::parse(source);          // at model load
//     std::string prompt = chat::render_chat(tmpl, inputs);  // per request
// Errors: TemplateSyntaxError at parse (model load error, has line()/column());
// TemplateRaisedError (the template rejected these messages: HTTP 400 with what());
// other TemplateRenderError (these messages could not be rendered: also a 400).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "chat/template.hpp"

namespace pensieve::chat {

struct ChatInputs {
    // Message objects as the client sent them ({"role", "content", "tool_calls", ...});
    // content may be a string, null, or a list of parts. ordered_json keeps key order,
    // which tojson output depends on.
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    // JSON-schema tool definitions; null means "no tools" (the template sees None).
    nlohmann::ordered_json tools = nullptr;
    bool add_generation_prompt = false;
    std::string bos_token;
    std::string eos_token;
    // Further template variables; they override the ones above, as keyword arguments do.
    // Their string values are client text, like messages and tools.
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

std::string render_chat(const Template& tmpl, const ChatInputs& inputs);
// The same text with the bytes that came from messages, tools and extra marked as client
// text, however the template reshaped them (client_text.hpp).
TrackedText render_chat_tracked(const Template& tmpl, const ChatInputs& inputs);

// Convenience for one-off renders (parses every call; cache a Template instead).
std::string render_chat(std::string_view template_source, const ChatInputs& inputs,
                        const Limits& limits = {});

// A built-in template for GGUF files that ship none, chosen by general.architecture
// (e.g. "gemma3" -> Gemma 3's official template). nullopt when there is none.
std::optional<std::string_view> builtin_template_for_architecture(std::string_view architecture);

// The template to use when a model has neither its own nor a built-in one: ChatML.
std::string_view chatml_template();

}  // namespace pensieve::chat
