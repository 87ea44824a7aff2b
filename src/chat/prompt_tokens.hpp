// From a conversation to prompt token ids: render the model's chat template,
// then tokenize so that the template's own text may produce control tokens
// (<|im_start|>, <start_of_turn>) while everything that came from the request —
// message contents, tools, names, however the template trimmed or reshaped them —
// never does. This is the prompt-injection boundary of the whole server. Which
// bytes are client text comes from the render itself (client_text.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/model_template.hpp"
#include "chat/template.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::chat {

class PromptBuilder {
  public:
    // Parses the template; throws TemplateSyntaxError (a model-load error).
    PromptBuilder(const ModelChatTemplate& model_template, const tokenizer::Tokenizer& tokenizer);

    // messages: [{role, content: string}...]; tools: JSON array or null.
    // `continuation` is text the reply must continue (an assistant prefill):
    // it is appended after the generation prompt as client text. `extra`:
    // further template variables (e.g. enable_thinking). Throws the
    // template's render errors (a 400 for that request).
    std::vector<int32_t> build(const nlohmann::ordered_json& messages,
                               const nlohmann::ordered_json& tools = nullptr,
                               const std::string& continuation = "",
                               const nlohmann::ordered_json& extra = nullptr,
                               bool* ends_in_thinking = nullptr) const;

    // The rendered text with its client ranges, for debugging and tests.
    TrackedText render(const nlohmann::ordered_json& messages,
                       const nlohmann::ordered_json& tools = nullptr,
                       const nlohmann::ordered_json& extra = nullptr) const;

    // Whether the template's replies may start with reasoning in
    // <think>...</think>, and whether it has the enable_thinking switch.
    bool thinks() const { return thinks_; }
    bool has_thinking_switch() const { return thinking_switch_; }

    const ModelChatTemplate& model_template() const { return model_template_; }

  private:
    ModelChatTemplate model_template_;
    Template template_;
    const tokenizer::Tokenizer& tokenizer_;
    bool thinks_ = false;
    bool thinking_switch_ = false;
};

// Splits rendered text into template text (Specials::Parse) and client text
// (Specials::AsText). The segments view `rendered.text`.
std::vector<tokenizer::Segment> prompt_segments(const TrackedText& rendered);

}  // namespace pensieve::chat
