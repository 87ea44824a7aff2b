// Conversation -> template variables, as transformers passes them. See chat_template.hpp.
#include "chat/chat_template.hpp"

#include "chat/error.hpp"
#include "chat/json_io.hpp"

namespace pensieve::chat {

namespace {

// The template variables; every string that came from the request is client text
// (from_json marks it), the special tokens and flags are the renderer's own.
DictData chat_context(const Template& tmpl, const ChatInputs& inputs) {
    const std::size_t depth = tmpl.limits().max_value_depth;
    DictData context;
    context.set(Value::string("messages"), from_json(inputs.messages, depth));
    context.set(Value::string("tools"),
                inputs.tools.is_null() ? Value::none() : from_json(inputs.tools, depth));
    context.set(Value::string("documents"), Value::none());
    context.set(Value::string("add_generation_prompt"),
                Value::boolean(inputs.add_generation_prompt));
    context.set(Value::string("bos_token"), Value::string(inputs.bos_token));
    context.set(Value::string("eos_token"), Value::string(inputs.eos_token));
    if (inputs.extra.is_object()) {
        for (const auto& [key, value] : inputs.extra.items()) {
            context.set(Value::string(key), from_json(value, depth));
        }
    } else if (!inputs.extra.is_null()) {
        throw TemplateRenderError("extra template arguments must be a JSON object");
    }
    return context;
}

}  // namespace

std::string render_chat(const Template& tmpl, const ChatInputs& inputs) {
    return tmpl.render(chat_context(tmpl, inputs));
}

TrackedText render_chat_tracked(const Template& tmpl, const ChatInputs& inputs) {
    return tmpl.render_tracked(chat_context(tmpl, inputs));
}

std::string render_chat(std::string_view template_source, const ChatInputs& inputs,
                        const Limits& limits) {
    return render_chat(Template::parse(template_source, limits), inputs);
}

}  // namespace pensieve::chat
