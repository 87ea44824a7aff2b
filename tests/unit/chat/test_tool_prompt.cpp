// Tools into the prompt: which templates render tools themselves, the shape of the
// converted conversation, the built-in prompt, and typed errors for malformed input.
// (tests/reference/chat/test_tool_templates.py compares full renders with jinja2.)
#include <gtest/gtest.h>

#include <cctype>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/chat_template.hpp"
#include "chat/tools/tool_prompt.hpp"
#include "render_helper.hpp"

namespace pensieve::chat {
namespace {

using testing::has_shape;
using testing::template_source;

using json = nlohmann::ordered_json;

const json kTools = json::parse(R"([
  {"name": "Read", "description": "Reads a file.",
   "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                    "required": ["file_path"]}},
  {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
])");

const json kHistory = json::parse(R"([
  {"role": "user", "content": "Read a and b"},
  {"role": "assistant", "content": [
    {"type": "thinking", "thinking": "two reads", "signature": ""},
    {"type": "text", "text": "Reading."},
    {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "a"}},
    {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {"file_path": "b"}}]},
  {"role": "user", "content": [
    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "A"},
    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
     "content": [{"type": "text", "text": "no such file"}, {"type": "image", "source": {}}]},
    {"type": "text", "text": "go on"}]}
])");

TEST(ToolPrompt, RecognisesTemplatesThatRenderTools) {
    const auto qwen = tool_template_support(template_source("qwen2.5-instruct"));
    EXPECT_TRUE(qwen.template_renders_tools);
    EXPECT_EQ(qwen.syntax, ToolCallSyntax::Hermes);
    EXPECT_TRUE(tool_template_support(template_source("qwen3-0.6b")).template_renders_tools);
    EXPECT_TRUE(tool_template_support(template_source("hermes-3-llama-3.1-8b-tool-use"))
                    .template_renders_tools);
    const auto llama = tool_template_support(template_source("llama-3.2-3b-instruct"));
    EXPECT_TRUE(llama.template_renders_tools);
    EXPECT_EQ(llama.syntax, ToolCallSyntax::Llama);
    const auto mistral = tool_template_support(template_source("mistral-nemo-instruct-2407"));
    EXPECT_TRUE(mistral.template_renders_tools);
    EXPECT_EQ(mistral.syntax, ToolCallSyntax::Mistral);
    EXPECT_TRUE(mistral.nine_char_call_ids);
    for (const std::string name : {"smollm2-135m-instruct", "gemma-3-it", "chatml",
                                   "command-r-plus-tool-use", "phi-3.5-mini-instruct"}) {
        const auto s = tool_template_support(template_source(name));
        EXPECT_FALSE(s.template_renders_tools) << name;
        EXPECT_EQ(s.syntax, ToolCallSyntax::Hermes) << name;
    }
    EXPECT_FALSE(tool_template_support(chatml_template()).template_renders_tools);
    EXPECT_FALSE(
        tool_template_support(*builtin_template_for_architecture("gemma3")).template_renders_tools);
    // A mention of custom_tools is not the variable tools.
    EXPECT_FALSE(tool_template_support("{{ custom_tools }}<tool_call>").template_renders_tools);
}

TEST(ToolPrompt, HuggingFaceShapeForTemplatesWithTools) {
    ToolTemplateSupport s;
    s.template_renders_tools = true;
    const ToolPromptInputs in = tool_prompt_inputs(kTools, kHistory, s);
    ASSERT_EQ(in.tools.size(), 1u);
    EXPECT_EQ(in.tools[0]["type"], "function");
    EXPECT_EQ(in.tools[0]["function"]["name"], "Read");
    EXPECT_EQ(in.tools[0]["function"]["parameters"], kTools[0]["input_schema"]);
    EXPECT_EQ(in.tool_names, std::vector<std::string>{"Read"});
    EXPECT_EQ(in.dropped, (std::vector<std::string>{"tool:web_search", "thinking", "image"}));
    const json want = json::parse(R"([
      {"role": "user", "content": "Read a and b"},
      {"role": "assistant", "content": "Reading.", "tool_calls": [
        {"type": "function", "id": "toolu_1", "function": {"name": "Read", "arguments": {"file_path": "a"}}},
        {"type": "function", "id": "toolu_2", "function": {"name": "Read", "arguments": {"file_path": "b"}}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "name": "Read", "content": "A"},
      {"role": "tool", "tool_call_id": "toolu_2", "name": "Read", "content": "Error: no such file"},
      {"role": "user", "content": "go on"}
    ])");
    EXPECT_EQ(in.messages, want);
}

TEST(ToolPrompt, MistralAndLlamaAdjustments) {
    const auto mistral = tool_template_support(template_source("mistral-nemo-instruct-2407"));
    json in = tool_prompt_inputs(kTools, kHistory, mistral).messages;
    const std::string id = in[1]["tool_calls"][0]["id"];
    EXPECT_TRUE(has_shape(id, "", 9)) << id;
    EXPECT_EQ(in[2]["tool_call_id"], id);
    EXPECT_NE(in[3]["tool_call_id"], id);
    ASSERT_EQ(in.size(), 4u);  // the trailing text joins the last result
    EXPECT_EQ(in[3]["content"], "Error: no such file\n\ngo on");

    const auto llama = tool_template_support(template_source("llama-3.2-3b-instruct"));
    in = tool_prompt_inputs(kTools, kHistory, llama).messages;
    ASSERT_EQ(in.size(), 6u);  // one call per assistant turn
    EXPECT_EQ(in[1]["content"], "Reading.");
    EXPECT_EQ(in[1]["tool_calls"].size(), 1u);
    EXPECT_EQ(in[2]["content"], "");
    EXPECT_EQ(in[2]["tool_calls"][0]["function"]["arguments"]["file_path"], "b");
}

TEST(ToolPrompt, BuiltinPromptForTemplatesWithoutTools) {
    const ToolPromptInputs in = tool_prompt_inputs(kTools, kHistory, ToolTemplateSupport{});
    EXPECT_TRUE(in.tools.is_null());
    ASSERT_EQ(in.messages.size(), 4u);
    EXPECT_EQ(in.messages[0]["role"], "system");
    const std::string system = in.messages[0]["content"];
    EXPECT_NE(system.find("{\"name\": \"Read\", \"description\": \"Reads a file.\", "
                          "\"input_schema\": {\"type\": \"object\""),
              std::string::npos);
    EXPECT_EQ(system.find("web_search"), std::string::npos);
    EXPECT_EQ(in.messages[2]["content"],
              "Reading.\n<tool_call>\n{\"name\": \"Read\", \"arguments\": {\"file_path\": "
              "\"a\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"Read\", \"arguments\": "
              "{\"file_path\": \"b\"}}\n</tool_call>");
    EXPECT_EQ(in.messages[3]["content"],
              "<tool_response name=\"Read\">\nA\n</tool_response>\n"
              "<tool_response name=\"Read\" is_error=\"true\">\nno such file\n</tool_response>\n"
              "go on");
    // An existing system prompt comes first; the tool section follows it.
    json with_system = kHistory;
    with_system.insert(with_system.begin(), json{{"role", "system"}, {"content", "Be brief."}});
    const auto in2 = tool_prompt_inputs(kTools, with_system, ToolTemplateSupport{});
    EXPECT_EQ(in2.messages[0]["content"],
              "Be brief.\n\n" + builtin_tool_section(
                                    json::array({{{"name", "Read"},
                                                  {"description", "Reads a file."},
                                                  {"input_schema", kTools[0]["input_schema"]}}})));
    // The built-in Gemma 3 template renders it (roles alternate after merging).
    ChatInputs ci;
    ci.messages = in.messages;
    ci.add_generation_prompt = true;
    const std::string text = render_chat(*builtin_template_for_architecture("gemma3"), ci);
    EXPECT_NE(text.find("<tool_response name=\"Read\">"), std::string::npos);
}

TEST(ToolPrompt, MalformedInputIsATypedError) {
    const auto expect_error = [](const json& tools, const json& messages, const std::string& what) {
        try {
            tool_prompt_inputs(tools, messages, ToolTemplateSupport{});
            ADD_FAILURE() << "no error for " << what;
        } catch (const ToolInputError& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    const json user = json::array({{{"role", "user"}, {"content", "hi"}}});
    expect_error(json::object(), user, "tools: expected an array");
    expect_error(json::array({{{"name", "x"}}}), user, "tools.0.input_schema");
    expect_error(json::array({{{"input_schema", json::object()}}}), user, "tools.0.name");
    expect_error(nullptr, json::object(), "messages: expected an array");
    expect_error(nullptr, json::array({{{"role", "robot"}, {"content", "x"}}}), "messages.0.role");
    expect_error(nullptr, json::parse(R"([{"role": "assistant", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": "x"}]}])"),
                 "messages.0.content.0.input: expected an object");
    expect_error(nullptr, json::parse(R"([{"role": "user", "content": [
        {"type": "tool_result", "content": "x"}]}])"),
                 "messages.0.content.0.tool_use_id");
    expect_error(nullptr, json::parse(R"([{"role": "user", "content": [{"text": "x"}]}])"),
                 "messages.0.content.0.type");
}

TEST(ToolPrompt, NineCharIdsAreStable) {
    EXPECT_EQ(nine_char_call_id("toolu_01"), nine_char_call_id("toolu_01"));
    EXPECT_NE(nine_char_call_id("toolu_01"), nine_char_call_id("toolu_02"));
    EXPECT_EQ(nine_char_call_id("").size(), 9u);
}

}  // namespace
}  // namespace pensieve::chat
