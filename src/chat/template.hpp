// A compiled jinja2 template. Parse once when the model loads (syntax errors name line
// and column); render per request. Rendering never modifies the Template, so one can
// be shared by concurrent requests.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "chat/limits.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

struct TemplateImpl;

class Template {
  public:
    // Throws TemplateSyntaxError (with line/column) if the source does not parse,
    // uses an unknown filter/test/tag, or exceeds limits.max_template_bytes/max_nesting.
    static Template parse(std::string_view source, const Limits& limits = {});

    // Renders with `context` as the template's variables (the keyword arguments of
    // jinja2's Template.render). Throws TemplateRaisedError for raise_exception(),
    // TemplateLimitError when a bound is hit, TemplateRenderError for other failures.
    std::string render(const DictData& context) const;
    // The same text, with which bytes came from client strings (Value::client_string,
    // from_json): the prompt builder tokenizes those as plain text.
    TrackedText render_tracked(const DictData& context) const;

    const Limits& limits() const;

  private:
    explicit Template(std::shared_ptr<const TemplateImpl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const TemplateImpl> impl_;
};

}  // namespace pensieve::chat
