// parse_messages_request, the fields of tool use and structured output:
// tools, tool_choice, output_format / output_config.format, thinking, and
// tool_use / tool_result / thinking blocks in the conversation's history.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;
using Kind = chat::ToolChoice::Kind;

const json kUser = {{"role", "user"}, {"content", "Hi"}};

// Tool history needs tools in the request; messages with tool blocks get one.
json body_with(const json& messages) {
    json body = {{"model", "m"}, {"max_tokens", 4096}, {"messages", messages}};
    if (messages.dump().find(R"("type":"tool_)") != std::string::npos) {
        body["tools"] = json::array({{{"name", "Read"}, {"input_schema", {{"type", "object"}}}}});
    }
    return body;
}

// A one-turn request with `patch`'s fields set.
json request(const json& patch) {
    json body = body_with(json::array({kUser}));
    for (const auto& [k, v] : patch.items()) body[k] = v;
    return body;
}

MessagesRequest parse(const json& body, Endpoint endpoint = Endpoint::Messages) {
    return parse_messages_request(body.dump(), endpoint);
}

// The message of the 400 that parsing `body` raises ("" if none).
std::string error_of(const json& body, Endpoint endpoint = Endpoint::Messages) {
    try {
        parse_messages_request(body.dump(), endpoint);
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.type, "invalid_request_error");
        return e.what();
    }
    ADD_FAILURE() << "no error for " << body.dump().substr(0, 300);
    return "";
}

#define EXPECT_ERROR(body, text)                                                \
    do {                                                                        \
        const std::string msg_ = error_of(body);                                \
        EXPECT_NE(msg_.find(text), std::string::npos) << msg_ << " / " << text; \
    } while (0)

json tool(const std::string& name) {
    return {{"name", name}, {"input_schema", {{"type", "object"}}}};
}

const json kTools = json::array({tool("Read"), tool("Bash")});

TEST(MessagesRequestTools, ToolNamesFollowTheApiPattern) {
    const std::string longest(64, 'n');
    const auto r = parse(request({{"tools", {tool("a"), tool("A-b_9"), tool(longest)}}}));
    ASSERT_EQ(r.tools.size(), 3u);
    EXPECT_EQ(r.tools[2]["name"], longest);
    for (const std::string& bad :
         {std::string(), std::string("has space"), std::string("dot.name"), std::string(65, 'n'),
          std::string("caf\xc3\xa9"), std::string("a/b")}) {
        EXPECT_ERROR(request({{"tools", {tool("ok"), tool(bad)}}}),
                     "tools.1.name: must match ^[a-zA-Z0-9_-]{1,64}$");
    }
    EXPECT_ERROR(request({{"tools", {{{"input_schema", json::object()}}}}}),
                 "tools.0.name: Field required");
    EXPECT_ERROR(request({{"tools", {{{"name", 5}}}}}), "tools.0.name: expected a string");
    EXPECT_ERROR(request({{"tools", {"Read"}}}), "tools.0: expected a tool object");
}

TEST(MessagesRequestTools, ToolNamesMustBeUnique) {
    EXPECT_ERROR(request({{"tools", {tool("Read"), tool("Bash"), tool("Read")}}}),
                 "tools: tool names must be unique; \"Read\" is repeated");
    // Names differing in case are distinct.
    EXPECT_EQ(parse(request({{"tools", {tool("read"), tool("Read")}}})).tools.size(), 2u);
}

TEST(MessagesRequestTools, NoToolsOrAnEmptyListIsNull) {
    EXPECT_TRUE(parse(request(json::object())).tools.is_null());
    EXPECT_TRUE(parse(request({{"tools", json::array()}})).tools.is_null());
    EXPECT_TRUE(parse(request({{"tools", nullptr}})).tools.is_null());
}

TEST(MessagesRequestTools, ToolChoiceKinds) {
    auto choice = [](const json& c) {
        const auto r = parse(request({{"tools", kTools}, {"tool_choice", c}}));
        EXPECT_TRUE(r.tool_choice.has_value());
        return r.tool_choice.value_or(chat::ToolChoice{});
    };
    EXPECT_EQ(choice({{"type", "auto"}}).kind, Kind::Auto);
    EXPECT_EQ(choice({{"type", "any"}}).kind, Kind::Any);
    EXPECT_EQ(choice({{"type", "none"}}).kind, Kind::None);
    const auto t = choice({{"type", "tool"}, {"name", "Bash"}});
    EXPECT_EQ(t.kind, Kind::Tool);
    EXPECT_EQ(t.name, "Bash");
    EXPECT_FALSE(t.disable_parallel);
    EXPECT_TRUE(choice({{"type", "auto"}, {"disable_parallel_tool_use", true}}).disable_parallel);
    EXPECT_TRUE(choice({{"type", "any"}, {"disable_parallel_tool_use", true}}).disable_parallel);
    EXPECT_FALSE(
        choice({{"type", "any"}, {"disable_parallel_tool_use", nullptr}}).disable_parallel);
    // auto and none need no tools.
    EXPECT_EQ(parse(request({{"tool_choice", {{"type", "auto"}}}})).tool_choice->kind, Kind::Auto);
    EXPECT_EQ(parse(request({{"tool_choice", {{"type", "none"}}}})).tool_choice->kind, Kind::None);
    EXPECT_FALSE(parse(request({{"tool_choice", nullptr}})).tool_choice.has_value());
}

TEST(MessagesRequestTools, ToolChoiceErrorsNameTheField) {
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", {{"type", "tool"}}}}),
                 "tool_choice.name: Field required");
    EXPECT_ERROR(
        request({{"tools", kTools}, {"tool_choice", {{"type", "tool"}, {"name", "Edit"}}}}),
        "tool_choice.name: no tool named \"Edit\" in tools");
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", {{"type", "tool"}, {"name", 1}}}}),
                 "tool_choice.name: expected a string");
    EXPECT_ERROR(request({{"tool_choice", {{"type", "any"}}}}), "tool_choice: \"any\" needs tools");
    EXPECT_ERROR(
        request({{"tools", json::array()}, {"tool_choice", {{"type", "tool"}, {"name", "Read"}}}}),
        "tool_choice: \"tool\" needs tools");
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", {{"type", "sometimes"}}}}),
                 "tool_choice.type: must be \"auto\", \"any\", \"tool\" or \"none\"");
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", {{"type", 3}}}}),
                 "tool_choice.type: expected a string");
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", json::object()}}),
                 "tool_choice.type: Field required");
    EXPECT_ERROR(request({{"tools", kTools}, {"tool_choice", "auto"}}),
                 "tool_choice: expected an object");
    EXPECT_ERROR(
        request({{"tools", kTools},
                 {"tool_choice", {{"type", "any"}, {"disable_parallel_tool_use", "yes"}}}}),
        "tool_choice.disable_parallel_tool_use: expected a boolean");
}

const json kSchema = json::parse(
    R"({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]})");

TEST(MessagesRequestTools, OutputFormatAndOutputConfigFormatGiveTheSchema) {
    const json format = {{"type", "json_schema"}, {"schema", kSchema}};
    EXPECT_EQ(parse(request({{"output_format", format}})).output_schema, kSchema);
    EXPECT_EQ(parse(request({{"output_config", {{"format", format}}}})).output_schema, kSchema);
    EXPECT_TRUE(parse(request(json::object())).output_schema.is_null());
    EXPECT_TRUE(parse(request({{"output_config", {{"effort", "high"}}}})).output_schema.is_null());
    // Both given: output_format is the one used.
    const json other = {{"type", "json_schema"}, {"schema", {{"type", "object"}}}};
    EXPECT_EQ(parse(request({{"output_format", format}, {"output_config", {{"format", other}}}}))
                  .output_schema,
              kSchema);
}

TEST(MessagesRequestTools, OutputFormatErrorsNameTheField) {
    EXPECT_ERROR(request({{"output_format", {{"type", "json"}, {"schema", kSchema}}}}),
                 "output_format.type: must be \"json_schema\"");
    EXPECT_ERROR(request({{"output_format", {{"schema", kSchema}}}}),
                 "output_format.type: must be \"json_schema\"");
    EXPECT_ERROR(request({{"output_format", {{"type", "json_schema"}}}}),
                 "output_format.schema: Field required");
    EXPECT_ERROR(request({{"output_format", {{"type", "json_schema"}, {"schema", {1, 2}}}}}),
                 "output_format.schema: expected an object");
    EXPECT_ERROR(request({{"output_format", "json"}}), "output_format: expected an object");
    EXPECT_ERROR(request({{"output_config", {{"format", {{"type", "text"}}}}}}),
                 "output_config.format.type: must be \"json_schema\"");
    EXPECT_ERROR(
        request({{"output_config", {{"format", {{"type", "json_schema"}, {"schema", "x"}}}}}}),
        "output_config.format.schema: expected an object");
}

TEST(MessagesRequestTools, ThinkingModes) {
    EXPECT_EQ(parse(request(json::object())).thinking.mode, Thinking::Mode::Default);
    const auto enabled =
        parse(request({{"thinking", {{"type", "enabled"}, {"budget_tokens", 1024}}}})).thinking;
    EXPECT_EQ(enabled.mode, Thinking::Mode::Enabled);
    EXPECT_EQ(enabled.budget_tokens, 1024);
    EXPECT_EQ(parse(request({{"thinking", {{"type", "disabled"}}}})).thinking.mode,
              Thinking::Mode::Disabled);
    EXPECT_EQ(parse(request({{"thinking", {{"type", "adaptive"}}}})).thinking.mode,
              Thinking::Mode::Adaptive);
    // count_tokens has no max_tokens to compare the budget with.
    const json body = {{"model", "m"},
                       {"messages", {kUser}},
                       {"thinking", {{"type", "enabled"}, {"budget_tokens", 50000}}}};
    EXPECT_EQ(parse(body, Endpoint::CountTokens).thinking.budget_tokens, 50000);
}

TEST(MessagesRequestTools, ThinkingErrorsNameTheField) {
    EXPECT_ERROR(request({{"thinking", {{"type", "enabled"}, {"budget_tokens", 1023}}}}),
                 "thinking.budget_tokens: must be at least 1024");
    EXPECT_ERROR(request({{"thinking", {{"type", "enabled"}, {"budget_tokens", 4096}}}}),
                 "thinking.budget_tokens: must be less than max_tokens");
    EXPECT_ERROR(request({{"thinking", {{"type", "enabled"}}}}),
                 "thinking.budget_tokens: Field required");
    EXPECT_ERROR(request({{"thinking", {{"type", "enabled"}, {"budget_tokens", "2000"}}}}),
                 "thinking.budget_tokens: expected an integer");
    EXPECT_ERROR(request({{"thinking", {{"type", "auto"}}}}),
                 "thinking.type: must be \"enabled\", \"disabled\" or \"adaptive\"");
    EXPECT_ERROR(request({{"thinking", {{"type", 1}}}}), "thinking.type: must be");
    EXPECT_ERROR(request({{"thinking", json::object()}}), "thinking.type: Field required");
    EXPECT_ERROR(request({{"thinking", "on"}}), "thinking: expected an object");
}

// ---- History blocks -------------------------------------------------------

json text(const std::string& t) {
    return {{"type", "text"}, {"text", t}};
}
json use(const std::string& id, const json& input) {
    return {{"type", "tool_use"}, {"id", id}, {"name", "Read"}, {"input", input}};
}
json result(const std::string& id, const json& content) {
    return {{"type", "tool_result"}, {"tool_use_id", id}, {"content", content}};
}

TEST(MessagesRequestTools, AToolRoundTripKeepsUsesAndResults) {
    const json thinking = {{"type", "thinking"}, {"thinking", "plan"}, {"signature", "sig"}};
    const json redacted = {{"type", "redacted_thinking"}, {"data", "xyz"}};
    const json errored = {{"type", "tool_result"},
                          {"tool_use_id", "t2"},
                          {"is_error", true},
                          {"content", json::array({text("no such"), text("file")})}};
    const auto r = parse(body_with(json::array(
        {kUser,
         {{"role", "assistant"},
          {"content",
           {thinking, redacted, text("Reading."), use("t1", {{"file_path", "a"}}),
            use("t2", {{"file_path", "b"}})}}},
         {{"role", "user"}, {"content", {result("t1", "A"), errored, text("Go on.")}}}})));
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1]["role"], "assistant");
    EXPECT_EQ(r.messages[1]["content"],
              json::array({text("Reading."), use("t1", {{"file_path", "a"}}),
                           use("t2", {{"file_path", "b"}})}));
    const json expected_results = json::array({result("t1", "A"),
                                               {{"type", "tool_result"},
                                                {"tool_use_id", "t2"},
                                                {"content", "no such\nfile"},
                                                {"is_error", true}},
                                               text("Go on.")});
    EXPECT_EQ(r.messages[2]["content"], expected_results);
    EXPECT_TRUE(r.dropped_blocks.empty());  // thinking blocks are left out silently
    EXPECT_TRUE(r.continuation.empty());
}

TEST(MessagesRequestTools, ThinkingBlocksAloneLeaveTextTurns) {
    const json thinking = {{"type", "thinking"}, {"thinking", "hmm"}, {"signature", "s"}};
    const auto r = parse(
        body_with(json::array({kUser,
                               {{"role", "assistant"}, {"content", {thinking, text("Hello")}}},
                               {{"role", "user"}, {"content", "Again"}}})));
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1]["content"], "Hello");
    EXPECT_TRUE(r.dropped_blocks.empty());
}

TEST(MessagesRequestTools, ConsecutiveTurnsWithBlocksMerge) {
    const auto r = parse(
        body_with(json::array({kUser,
                               {{"role", "assistant"}, {"content", "Let me look."}},
                               {{"role", "assistant"}, {"content", {use("t1", json::object())}}},
                               {{"role", "user"}, {"content", {result("t1", "A")}}},
                               {{"role", "user"}, {"content", "More?"}},
                               {{"role", "user"}, {"content", {text("And"), text("this")}}}})));
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1]["content"],
              json::array({text("Let me look."), use("t1", json::object())}));
    // The text after the result joins it as a block; a following text turn
    // joins that block with a blank line.
    EXPECT_EQ(r.messages[2]["content"],
              json::array({result("t1", "A"), text("More?\n\nAnd\nthis")}));
}

TEST(MessagesRequestTools, BlocksInTheWrongTurnAreRejected) {
    EXPECT_ERROR(
        body_with(json::array({{{"role", "user"}, {"content", {use("t1", json::object())}}}})),
        "messages.0.content.0: a tool_use block belongs in an assistant turn");
    EXPECT_ERROR(body_with(json::array(
                     {kUser, {{"role", "assistant"}, {"content", {result("t1", "A")}}}, kUser})),
                 "messages.1.content.0: a tool_result block belongs in a user turn");
}

TEST(MessagesRequestTools, MalformedToolBlocksNameTheField) {
    auto with_assistant = [](const json& block) {
        return body_with(
            json::array({kUser, {{"role", "assistant"}, {"content", {text("x"), block}}}, kUser}));
    };
    EXPECT_ERROR(with_assistant({{"type", "tool_use"}, {"id", "t"}, {"name", "Read"}}),
                 "messages.1.content.1.input: expected an object");
    EXPECT_ERROR(
        with_assistant({{"type", "tool_use"}, {"id", "t"}, {"name", "Read"}, {"input", "{}"}}),
        "messages.1.content.1.input: expected an object");
    EXPECT_ERROR(
        with_assistant({{"type", "tool_use"}, {"name", "Read"}, {"input", json::object()}}),
        "messages.1.content.1.id: expected a string");
    EXPECT_ERROR(with_assistant({{"type", "tool_use"}, {"id", "t"}, {"input", json::object()}}),
                 "messages.1.content.1.name: expected a string");
    auto with_user = [](const json& block) {
        return body_with(json::array({{{"role", "user"}, {"content", {block}}}}));
    };
    EXPECT_ERROR(with_user({{"type", "tool_result"}, {"content", "x"}}),
                 "messages.0.content.0.tool_use_id: expected a string");
    EXPECT_ERROR(with_user({{"type", "tool_result"}, {"tool_use_id", "t"}, {"is_error", "yes"}}),
                 "messages.0.content.0.is_error: expected a boolean");
    EXPECT_ERROR(with_user({{"type", "tool_result"}, {"tool_use_id", "t"}, {"content", 5}}),
                 "messages.0.content.0.content: expected a string or an array");
}

TEST(MessagesRequestTools, AFinalAssistantTurnWithAToolUseIsRejected) {
    EXPECT_ERROR(
        body_with(json::array(
            {kUser,
             {{"role", "assistant"}, {"content", {text("Reading."), use("t1", json::object())}}}})),
        "messages: a final assistant turn is continued by the reply, so it may hold only "
        "text");
    // A final assistant turn of text (and thinking) is a prefill.
    const json thinking = {{"type", "thinking"}, {"thinking", "hmm"}, {"signature", "s"}};
    const auto r = parse(body_with(
        json::array({kUser, {{"role", "assistant"}, {"content", {thinking, text("The")}}}})));
    EXPECT_EQ(r.continuation, "The");
    ASSERT_EQ(r.messages.size(), 1u);
}

}  // namespace
}  // namespace pensieve::api

namespace pensieve::api {
namespace {

TEST(MessagesRequestTools, HistoryMustBeConsistent) {
    const json use = {
        {"type", "tool_use"}, {"id", "t1"}, {"name", "Read"}, {"input", json::object()}};
    const json result = {{"type", "tool_result"}, {"tool_use_id", "t9"}, {"content", "x"}};
    json body = body_with(json::array({kUser,
                                       {{"role", "assistant"}, {"content", {use}}},
                                       {{"role", "user"}, {"content", {result}}}}));
    EXPECT_ERROR(body, "messages.2.content.0.tool_use_id: no tool_use block with id \"t9\"");
    body["messages"][2]["content"][0]["tool_use_id"] = "t1";
    EXPECT_NO_THROW(parse(body));
    body.erase("tools");
    EXPECT_ERROR(body,
                 "messages.1.content.0: requests with tool_use or tool_result blocks must "
                 "define tools");
}

TEST(MessagesRequestTools, ToolUseBlocksHaveANameAndAnIdOfTheirOwn) {
    const json use = {
        {"type", "tool_use"}, {"id", "t1"}, {"name", "Read"}, {"input", json::object()}};
    const auto history = [&](const json& blocks) {
        return body_with(json::array({kUser, {{"role", "assistant"}, {"content", blocks}}}));
    };
    json nameless = use;
    nameless["name"] = "";
    EXPECT_ERROR(history(json::array({nameless})), "messages.1.content.0.name: must not be empty");
    json idless = use;
    idless["id"] = "";
    EXPECT_ERROR(history(json::array({idless})), "messages.1.content.0.id: must not be empty");
    EXPECT_ERROR(history(json::array({use, use})),
                 "messages.1.content.1.id: tool_use ids must be unique (\"t1\" is used twice)");
}

TEST(MessagesRequestTools, AToolsInputIsAnObject) {
    EXPECT_ERROR(request({{"tools", {{{"name", "a"}, {"input_schema", "x"}}}}}),
                 "tools.0.input_schema: expected an object");
    EXPECT_ERROR(request({{"tools", {{{"name", "a"}, {"input_schema", {{"type", "string"}}}}}}}),
                 "tools.0.input_schema.type: must be \"object\"");
}

}  // namespace
}  // namespace pensieve::api
