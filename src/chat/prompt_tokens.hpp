// From a conversation to prompt token ids: render the model's chat template,
// then tokenize so that the template's own text may produce control tokens
// (<|im_start|>, <start_of_turn>) while the message contents — client text —
// never do. This is the prompt-injection boundary of the whole server.
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
    // it is appended after the generation prompt as client text.
    // Throws the template's render errors (a 400 for that request).
    std::vector<int32_t> build(const nlohmann::ordered_json& messages,
                               const nlohmann::ordered_json& tools = nullptr,
                               const std::string& continuation = "") const;

    // The rendered text, for debugging and tests.
    std::string render(const nlohmann::ordered_json& messages,
                       const nlohmann::ordered_json& tools = nullptr) const;

    const ModelChatTemplate& model_template() const { return model_template_; }

  private:
    ModelChatTemplate model_template_;
    Template template_;
    const tokenizer::Tokenizer& tokenizer_;
};

// Splits rendered text into template text (Specials::Parse) and the message
// contents (Specials::AsText), by finding each content string in order.
// Contents the template rewrote are not found and stay template text. This is
// build()'s fallback: it first renders the messages again with each content
// replaced by a marker, which separates the two exactly whenever the template
// prints the contents unchanged (a search can take template text for a
// content that repeats it).
std::vector<tokenizer::Segment> trust_segments(std::string_view rendered,
                                               const nlohmann::ordered_json& messages);

}  // namespace pensieve::chat
