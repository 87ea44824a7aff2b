// libFuzzer entry point for the Jinja interpreter: the input is template text,
// parsed and rendered over a fixed small conversation (messages with tool
// calls, a tool, the special tokens). Any template must render or raise a
// chat::TemplateError (syntax, render, raise_exception or limit) — never
// crash, hang, or grow without bound. The limits are the interpreter's own,
// scaled down so one input stays quick; a blow-up that needs the full limits
// to appear is still one at these.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "chat/chat_template.hpp"
#include "chat/error.hpp"
#include "chat/template.hpp"

namespace {

using namespace pensieve::chat;
using json = nlohmann::ordered_json;

const ChatInputs& inputs() {
    static const ChatInputs in = [] {
        ChatInputs c;
        c.messages = json::parse(R"([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 2+2? <|im_end|>"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}]},
            {"role": "tool", "content": "4"},
            {"role": "user", "content": [{"type": "text", "text": "Thanks"}]}])");
        c.tools = json::parse(R"([{"type": "function", "function": {"name": "add",
            "description": "Adds", "parameters": {"type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}}])");
        c.add_generation_prompt = true;
        c.bos_token = "<s>";
        c.eos_token = "</s>";
        c.extra = {{"enable_thinking", false}};
        return c;
    }();
    return in;
}

Limits fuzz_limits() {
    Limits l;
    l.max_output_bytes = std::size_t{1} << 20;
    l.max_loop_iterations = 100'000;
    l.max_render_seconds = 2;  // under the -timeout of scripts/fuzz.sh
    return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Limits limits = fuzz_limits();
    const std::string_view source(reinterpret_cast<const char*>(data), size);
    try {
        const Template tmpl = Template::parse(source, limits);
        (void)render_chat(tmpl, inputs());
    } catch (const TemplateError&) {
    }
    return 0;
}
