// Anthropic tools and tool history -> chat template inputs. See tool_prompt.hpp and
// docs/TOOLS.md (the built-in prompt's exact text).
#include "chat/tools/tool_prompt.hpp"

#include <cstdint>
#include <map>

#include "chat/error.hpp"
#include "chat/json_io.hpp"

namespace pensieve::chat {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether `word` occurs as a whole identifier (so `custom_tools` is not `tools`).
bool uses_identifier(std::string_view source, std::string_view word) {
    for (std::size_t at = source.find(word); at != std::string_view::npos;
         at = source.find(word, at + 1)) {
        const bool left = at == 0 || !is_ident(source[at - 1]);
        const std::size_t end = at + word.size();
        const bool right = end == source.size() || !is_ident(source[end]);
        if (left && right) return true;
    }
    return false;
}

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw ToolInputError(where + ": " + what);
}

// Python's json.dumps(x, ensure_ascii=False): what Qwen-style templates print through
// tojson, so the built-in prompt shows JSON the way these models were trained on it.
std::string python_json(const json& j) {
    try {
        return to_json(from_json(j), JsonDumpOptions{});
    } catch (const TemplateError& e) {
        throw ToolInputError(std::string("tool JSON cannot be written: ") + e.what());
    }
}

const std::string& string_field(const json& obj, const char* key, const std::string& where) {
    if (!obj.contains(key) || !obj[key].is_string()) bad(where + "." + key, "expected a string");
    return obj[key].get_ref<const std::string&>();
}

// The text of a tool_result's content (a string or blocks; non-text blocks dropped).
std::string result_text(const json& block, const std::string& where,
                        std::vector<std::string>& dropped) {
    if (!block.contains("content") || block["content"].is_null()) return "";
    const json& content = block["content"];
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) bad(where + ".content", "expected a string or an array of blocks");
    std::string out;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const std::string at = where + ".content." + std::to_string(i);
        const json& part = content[i];
        if (!part.is_object()) bad(at, "expected a content block object");
        const std::string& type = string_field(part, "type", at);
        if (type != "text") {
            dropped.push_back(type);
            continue;
        }
        if (!out.empty()) out += "\n";
        out += string_field(part, "text", at);
    }
    return out;
}

struct ToolUse {
    std::string id;
    std::string name;
    json input;
};

struct ToolResult {
    std::string tool_use_id;
    std::string content;
    bool is_error = false;
};

// One content block, checked; `text`, `tool_use` and `tool_result` are kept.
struct Block {
    enum class Kind { Text, ToolUse, ToolResult } kind;
    std::string text;
    ToolUse use;
    ToolResult result;
};

std::vector<Block> blocks_of(const json& message, const std::string& where,
                             std::vector<std::string>& dropped) {
    std::vector<Block> out;
    if (!message.contains("content") || message["content"].is_null()) return out;
    const json& content = message["content"];
    if (content.is_string()) {
        out.push_back({Block::Kind::Text, content.get<std::string>(), {}, {}});
        return out;
    }
    if (!content.is_array()) bad(where + ".content", "expected a string or an array of blocks");
    for (std::size_t i = 0; i < content.size(); ++i) {
        const std::string at = where + ".content." + std::to_string(i);
        const json& b = content[i];
        if (!b.is_object()) bad(at, "expected a content block object");
        const std::string& type = string_field(b, "type", at);
        if (type == "text") {
            out.push_back({Block::Kind::Text, string_field(b, "text", at), {}, {}});
        } else if (type == "tool_use") {
            Block block{Block::Kind::ToolUse, {}, {}, {}};
            block.use.id = string_field(b, "id", at);
            block.use.name = string_field(b, "name", at);
            if (!b.contains("input") || !b["input"].is_object())
                bad(at + ".input", "expected an object");
            block.use.input = b["input"];
            out.push_back(std::move(block));
        } else if (type == "tool_result") {
            Block block{Block::Kind::ToolResult, {}, {}, {}};
            block.result.tool_use_id = string_field(b, "tool_use_id", at);
            block.result.content = result_text(b, at, dropped);
            if (b.contains("is_error") && !b["is_error"].is_null()) {
                if (!b["is_error"].is_boolean()) bad(at + ".is_error", "expected a boolean");
                block.result.is_error = b["is_error"].get<bool>();
            }
            out.push_back(std::move(block));
        } else {
            dropped.push_back(type);
        }
    }
    return out;
}

struct ToolDef {
    std::string name;
    std::string description;
    json input_schema;
};

std::vector<ToolDef> tool_defs(const json& tools, std::vector<std::string>& dropped) {
    std::vector<ToolDef> out;
    if (tools.is_null()) return out;
    if (!tools.is_array()) bad("tools", "expected an array");
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const std::string at = "tools." + std::to_string(i);
        const json& t = tools[i];
        if (!t.is_object()) bad(at, "expected a tool object");
        const bool custom = !t.contains("type") || t["type"].is_null() || t["type"] == "custom";
        if (!custom && !t.contains("input_schema")) {
            // A server tool (web_search_...): Anthropic runs those, a local model cannot.
            dropped.push_back("tool:" + (t.contains("name") && t["name"].is_string()
                                             ? t["name"].get<std::string>()
                                             : std::string("?")));
            continue;
        }
        ToolDef def;
        def.name = string_field(t, "name", at);
        if (def.name.empty()) bad(at + ".name", "must not be empty");
        if (t.contains("description") && !t["description"].is_null()) {
            def.description = string_field(t, "description", at);
        }
        if (!t.contains("input_schema") || !t["input_schema"].is_object()) {
            bad(at + ".input_schema", "expected an object");
        }
        def.input_schema = t["input_schema"];
        out.push_back(std::move(def));
    }
    return out;
}

std::string joined_text(const std::vector<Block>& blocks) {
    std::string out;
    bool first = true;
    for (const Block& b : blocks) {
        if (b.kind != Block::Kind::Text) continue;
        if (!first) out += "\n";
        out += b.text;
        first = false;
    }
    return out;
}

// Appends a turn, merging it into the previous one of the same role: templates
// without tool support often insist that user and assistant turns alternate.
void push_merged(json& messages, const std::string& role, const std::string& text) {
    if (!messages.empty() && messages.back()["role"] == role && role != "system") {
        std::string& prev = messages.back()["content"].get_ref<std::string&>();
        if (!prev.empty() && !text.empty()) prev += "\n\n";
        prev += text;
        return;
    }
    messages.push_back({{"role", role}, {"content", text}});
}

// Built-in prompt: calls and results become text in ordinary turns.
void convert_builtin(const json& messages, const std::vector<ToolDef>& defs, json& tools_json,
                     ToolPromptInputs& out) {
    std::map<std::string, std::string> names;  // tool_use id -> tool name
    json result = json::array();
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const std::string at = "messages." + std::to_string(i);
        const json& m = messages[i];
        const std::string& role = string_field(m, "role", at);
        const std::vector<Block> blocks = blocks_of(m, at, out.dropped);
        std::string text;
        for (const Block& b : blocks) {
            std::string piece;
            if (b.kind == Block::Kind::Text) {
                piece = b.text;
            } else if (b.kind == Block::Kind::ToolUse) {
                names[b.use.id] = b.use.name;
                piece = builtin_tool_call_text(b.use.name, b.use.input);
            } else {
                const auto it = names.find(b.result.tool_use_id);
                piece = builtin_tool_result_text(it == names.end() ? "" : it->second,
                                                 b.result.content, b.result.is_error);
            }
            if (!text.empty()) text += "\n";
            text += piece;
        }
        if (role != "system" && role != "user" && role != "assistant") {
            bad(at + ".role", "expected \"system\", \"user\" or \"assistant\"");
        }
        push_merged(result, role, text);
    }
    if (!defs.empty()) {
        const std::string section = builtin_tool_section(tools_json);
        if (!result.empty() && result[0]["role"] == "system") {
            std::string& sys = result[0]["content"].get_ref<std::string&>();
            sys = sys.empty() ? section : sys + "\n\n" + section;
        } else {
            result.insert(result.begin(), json{{"role", "system"}, {"content", section}});
        }
    }
    out.messages = std::move(result);
}

// Hugging Face shape: tool_calls on assistant turns, role "tool" messages for results.
void convert_for_template(const json& messages, const std::vector<ToolDef>& defs,
                          const ToolTemplateSupport& support, ToolPromptInputs& out) {
    std::map<std::string, std::string> names;
    const auto call_id = [&](const std::string& id) {
        return support.nine_char_call_ids ? nine_char_call_id(id) : id;
    };
    json result = json::array();
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const std::string at = "messages." + std::to_string(i);
        const json& m = messages[i];
        const std::string& role = string_field(m, "role", at);
        const std::vector<Block> blocks = blocks_of(m, at, out.dropped);
        if (role == "system") {
            result.push_back({{"role", "system"}, {"content", joined_text(blocks)}});
        } else if (role == "assistant") {
            json msg = {{"role", "assistant"}, {"content", joined_text(blocks)}};
            json calls = json::array();
            for (const Block& b : blocks) {
                if (b.kind == Block::Kind::ToolResult) bad(at, "tool_result in an assistant turn");
                if (b.kind != Block::Kind::ToolUse) continue;
                names[b.use.id] = b.use.name;
                calls.push_back({{"type", "function"},
                                 {"id", call_id(b.use.id)},
                                 {"function", {{"name", b.use.name}, {"arguments", b.use.input}}}});
            }
            if (support.one_call_per_turn && calls.size() > 1) {
                for (std::size_t c = 0; c < calls.size(); ++c) {
                    json one = {{"role", "assistant"},
                                {"content", c == 0 ? msg["content"] : json("")},
                                {"tool_calls", json::array({calls[c]})}};
                    result.push_back(std::move(one));
                }
                continue;
            }
            if (!calls.empty()) msg["tool_calls"] = std::move(calls);
            result.push_back(std::move(msg));
        } else if (role == "user") {
            // Results and text in block order; consecutive text blocks form one user turn.
            std::string pending;
            bool have_text = false;
            bool after_result = false;
            const auto flush = [&] {
                if (have_text && after_result && support.text_into_last_result) {
                    std::string& last = result.back()["content"].get_ref<std::string&>();
                    last += "\n\n" + pending;
                } else if (have_text) {
                    result.push_back({{"role", "user"}, {"content", pending}});
                }
                pending.clear();
                have_text = false;
            };
            for (const Block& b : blocks) {
                if (b.kind == Block::Kind::ToolUse) bad(at, "tool_use in a user turn");
                if (b.kind == Block::Kind::Text) {
                    if (have_text) pending += "\n";
                    pending += b.text;
                    have_text = true;
                    continue;
                }
                flush();
                after_result = true;
                const auto it = names.find(b.result.tool_use_id);
                result.push_back(
                    {{"role", "tool"},
                     {"tool_call_id", call_id(b.result.tool_use_id)},
                     {"name", it == names.end() ? "" : it->second},
                     {"content", (b.result.is_error ? "Error: " : "") + b.result.content}});
            }
            if (blocks.empty()) have_text = true;
            flush();
        } else {
            bad(at + ".role", "expected \"system\", \"user\" or \"assistant\"");
        }
    }
    out.messages = std::move(result);
    if (!defs.empty()) {
        out.tools = json::array();
        for (const ToolDef& d : defs) {
            out.tools.push_back({{"type", "function"},
                                 {"function",
                                  {{"name", d.name},
                                   {"description", d.description},
                                   {"parameters", d.input_schema}}}});
        }
    }
}

}  // namespace

const char* syntax_name(ToolCallSyntax syntax) {
    switch (syntax) {
        case ToolCallSyntax::Hermes:
            return "hermes";
        case ToolCallSyntax::Llama:
            return "llama";
        case ToolCallSyntax::Mistral:
            return "mistral";
    }
    return "?";
}

ToolTemplateSupport tool_template_support(std::string_view source) {
    ToolTemplateSupport s;
    bool known = true;
    if (source.find("[TOOL_CALLS]") != std::string_view::npos) {
        s.syntax = ToolCallSyntax::Mistral;
        s.nine_char_call_ids = true;
        s.text_into_last_result = true;
    } else if (source.find("<tool_call>") != std::string_view::npos) {
        s.syntax = ToolCallSyntax::Hermes;
    } else if (source.find("<|python_tag|>") != std::string_view::npos ||
               source.find("ipython") != std::string_view::npos) {
        s.syntax = ToolCallSyntax::Llama;
        s.one_call_per_turn = true;
    } else {
        known = false;
    }
    s.template_renders_tools = known && uses_identifier(source, "tools");
    if (!s.template_renders_tools) {
        s.syntax = ToolCallSyntax::Hermes;  // the built-in prompt's syntax
        s.nine_char_call_ids = false;
        s.text_into_last_result = false;
        s.one_call_per_turn = false;
    }
    return s;
}

std::string nine_char_call_id(std::string_view id) {
    uint64_t h = 14695981039346656037ull;
    for (const char c : id) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    std::string out(9, '0');
    for (std::size_t i = 0; i < 9; ++i) {
        out[i] = kBase62[h % 62];
        h /= 62;
    }
    return out;
}

std::string builtin_tool_section(const json& anthropic_tools) {
    std::string out =
        "# Tools\n\n"
        "You can call tools to help with the request. Each tool is listed below as JSON "
        "with its name, description and input_schema (a JSON Schema for its input):\n";
    for (const json& t : anthropic_tools) out += python_json(t) + "\n";
    out +=
        "\nTo call a tool, write the call in exactly this form, one block per call, and "
        "then stop:\n"
        "<tool_call>\n"
        "{\"name\": \"<tool name>\", \"arguments\": <the input: a JSON object matching the "
        "tool's input_schema>}\n"
        "</tool_call>\n"
        "The result of each call comes back in the next user turn as:\n"
        "<tool_response name=\"<tool name>\">\n"
        "<the result>\n"
        "</tool_response>";
    return out;
}

std::string builtin_tool_call_text(const std::string& name, const json& input) {
    return "<tool_call>\n" + python_json(json{{"name", name}, {"arguments", input}}) +
           "\n</tool_call>";
}

std::string builtin_tool_result_text(const std::string& name, const std::string& content,
                                     bool is_error) {
    return "<tool_response name=\"" + name + "\"" + (is_error ? " is_error=\"true\"" : "") + ">\n" +
           content + "\n</tool_response>";
}

ToolPromptInputs tool_prompt_inputs(const json& tools, const json& messages,
                                    const ToolTemplateSupport& support) {
    ToolPromptInputs out;
    if (!messages.is_array()) bad("messages", "expected an array");
    const std::vector<ToolDef> defs = tool_defs(tools, out.dropped);
    json kept = json::array();
    for (const ToolDef& d : defs) {
        out.tool_names.push_back(d.name);
        kept.push_back(
            {{"name", d.name}, {"description", d.description}, {"input_schema", d.input_schema}});
    }
    if (support.template_renders_tools) {
        convert_for_template(messages, defs, support, out);
    } else {
        convert_builtin(messages, defs, kept, out);
    }
    return out;
}

}  // namespace pensieve::chat
