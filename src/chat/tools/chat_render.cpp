// chat_render: renders chat templates for tests/reference/chat, which compares the
// output byte-for-byte with Python jinja2 configured like transformers.
//
//   chat_render < request.json          -> rendered text on stdout
//   chat_render --batch < requests.json -> JSON array of results on stdout
//
// A request: {"template": "...", "messages": [...], "tools": [...] | null,
//             "add_generation_prompt": bool, "bos_token": "...", "eos_token": "...",
//             "extra": {...}}
// or, to render an Anthropic conversation with tools (tool_prompt.hpp), "anthropic":
// {"messages": [...], "tools": [...]} instead of "messages"/"tools"; its result also
// holds "converted": {"messages", "tools", "template_renders_tools", "syntax"}.
// A result (batch): {"ok": true, "text": "..."} or
//                   {"ok": false, "kind": "syntax"|"raised"|"limit"|"render", "message": "..."}
//
//   chat_render --tool-calls hermes|llama|mistral < text -> the tool-call parser's events
//   for the text (fed byte by byte), one JSON object per line.
//
// Single mode exit codes: 0 ok, 2 syntax, 3 raised, 4 limit, 5 render, 6 tool_input,
// 1 bad request.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "chat/chat_template.hpp"
#include "chat/error.hpp"
#include "chat/tools/tool_call_parser.hpp"
#include "chat/tools/tool_prompt.hpp"

namespace {

using nlohmann::ordered_json;
using namespace pensieve::chat;

ordered_json render_one(const ordered_json& req) {
    ChatInputs in;
    in.messages = req.value("messages", ordered_json::array());
    in.tools = req.contains("tools") ? req["tools"] : ordered_json(nullptr);
    in.add_generation_prompt = req.value("add_generation_prompt", false);
    in.bos_token = req.value("bos_token", std::string());
    in.eos_token = req.value("eos_token", std::string());
    in.extra = req.value("extra", ordered_json::object());
    ordered_json out;
    ordered_json converted;
    if (req.contains("anthropic")) {
        const ordered_json& a = req["anthropic"];
        const std::string source = req.at("template").get<std::string>();
        const ToolTemplateSupport support = tool_template_support(source);
        try {
            ToolPromptInputs t =
                tool_prompt_inputs(a.value("tools", ordered_json(nullptr)),
                                   a.value("messages", ordered_json::array()), support);
            in.messages = t.messages;
            in.tools = t.tools;
            converted = {{"messages", t.messages},
                         {"tools", t.tools},
                         {"template_renders_tools", support.template_renders_tools},
                         {"syntax", syntax_name(support.syntax)}};
        } catch (const ToolInputError& e) {
            return {{"ok", false}, {"kind", "tool_input"}, {"message", e.what()}};
        }
    }
    try {
        out["text"] = render_chat(req.at("template").get<std::string>(), in);
        out["ok"] = true;
    } catch (const TemplateSyntaxError& e) {
        out = {{"ok", false}, {"kind", "syntax"}, {"message", e.what()}};
    } catch (const TemplateRaisedError& e) {
        out = {{"ok", false}, {"kind", "raised"}, {"message", e.what()}};
    } catch (const TemplateLimitError& e) {
        out = {{"ok", false}, {"kind", "limit"}, {"message", e.what()}};
    } catch (const TemplateRenderError& e) {
        out = {{"ok", false}, {"kind", "render"}, {"message", e.what()}};
    }
    if (!converted.is_null()) out["converted"] = converted;
    return out;
}

int parse_tool_calls(const std::string& syntax_name, const std::string& text) {
    ToolCallSyntax syntax = ToolCallSyntax::Hermes;
    if (syntax_name == "llama") {
        syntax = ToolCallSyntax::Llama;
    } else if (syntax_name == "mistral") {
        syntax = ToolCallSyntax::Mistral;
    } else if (syntax_name != "hermes") {
        std::cerr << "unknown tool-call syntax " << syntax_name << "\n";
        return 1;
    }
    static constexpr const char* kKinds[] = {"text", "call_start", "arguments_delta", "call_end",
                                             "call_failed"};
    ToolCallParser parser(syntax);
    const auto print = [](const std::vector<ToolCallEvent>& events) {
        for (const ToolCallEvent& e : events) {
            ordered_json j = {{"kind", kKinds[static_cast<int>(e.kind)]}, {"text", e.text}};
            if (e.kind != ToolCallEvent::Kind::Text) {
                j["id"] = e.id;
                j["name"] = e.name;
                j["index"] = e.index;
            }
            if (e.kind == ToolCallEvent::Kind::CallEnd) j["input"] = e.input;
            std::cout << j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
        }
    };
    for (const char c : text) print(parser.feed(std::string_view(&c, 1)));
    print(parser.finish());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const bool batch = argc > 1 && std::string(argv[1]) == "--batch";
    const std::string input((std::istreambuf_iterator<char>(std::cin)),
                            std::istreambuf_iterator<char>());
    if (argc > 2 && std::string(argv[1]) == "--tool-calls") return parse_tool_calls(argv[2], input);
    try {
        const ordered_json req = ordered_json::parse(input);
        if (batch) {
            ordered_json results = ordered_json::array();
            for (const auto& r : req) results.push_back(render_one(r));
            // error_handler replace: rendered text may hold invalid UTF-8 from a template.
            std::cout << results.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
            return 0;
        }
        const ordered_json result = render_one(req);
        if (result["ok"].get<bool>()) {
            const std::string text = result["text"].get<std::string>();
            std::fwrite(text.data(), 1, text.size(), stdout);
            return 0;
        }
        std::cerr << result["kind"].get<std::string>() << ": "
                  << result["message"].get<std::string>() << "\n";
        const std::string kind = result["kind"].get<std::string>();
        return kind == "syntax"   ? 2
               : kind == "raised" ? 3
               : kind == "limit"  ? 4
               : kind == "render" ? 5
                                  : 6;
    } catch (const std::exception& e) {
        std::cerr << "bad request: " << e.what() << "\n";
        return 1;
    }
}
