// Errors of the chat-template interpreter, split by who is at fault:
//   TemplateSyntaxError  - the template itself is broken (reported when a model loads);
//   TemplateRaisedError  - the template called raise_exception() for this request's
//                          messages (a client error: HTTP 400);
//   TemplateRenderError  - rendering failed for this request: a type error, an undefined
//                          value used where jinja2 raises, or a safety limit was hit.
#pragma once

#include <stdexcept>
#include <string>

namespace pensieve::chat {

class TemplateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class TemplateSyntaxError : public TemplateError {
  public:
    // `line` and `column` are 1-based positions in the template source.
    TemplateSyntaxError(const std::string& message, int line, int column)
        : TemplateError(message + " (line " + std::to_string(line) + ", column " +
                        std::to_string(column) + ")"),
          message_(message),
          line_(line),
          column_(column) {}

    const std::string& message() const { return message_; }
    int line() const { return line_; }
    int column() const { return column_; }

  private:
    std::string message_;
    int line_;
    int column_;
};

class TemplateRenderError : public TemplateError {
  public:
    using TemplateError::TemplateError;
};

// raise_exception("...") from the template; what() is the template's own message.
class TemplateRaisedError : public TemplateRenderError {
  public:
    using TemplateRenderError::TemplateRenderError;
};

// A safety bound (output size, loop iterations, recursion depth) was exceeded.
class TemplateLimitError : public TemplateRenderError {
  public:
    using TemplateRenderError::TemplateRenderError;
};

}  // namespace pensieve::chat
