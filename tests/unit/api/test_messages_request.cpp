// parse_messages_request: what a valid request becomes (the normalised
// conversation the chat template sees) and how invalid ones are named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/field_path.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

json body_with(const json& messages) {
    return {{"model", "m"}, {"max_tokens", 8}, {"messages", messages}};
}

MessagesRequest parse(const json& body, Endpoint endpoint = Endpoint::Messages) {
    return parse_messages_request(body.dump(), endpoint);
}

// The message of the ApiError that parsing `text` raises ("" if none).
std::string error_of_text(std::string_view text) {
    try {
        parse_messages_request(text, Endpoint::Messages);
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.type, "invalid_request_error");
        return e.what();
    }
    ADD_FAILURE() << "no error for " << text.substr(0, 200);
    return "";
}

std::string error_of(const json& body) {
    return error_of_text(body.dump());
}

TEST(FieldPath, SpellsKeysAndIndicesJoinedByDots) {
    const FieldPath root("messages");
    const FieldPath message = root / 3;
    const FieldPath content = message / "content";
    const FieldPath block = content / 7;
    EXPECT_EQ(root.str(), "messages");
    EXPECT_EQ(block.str(), "messages.3.content.7");
    EXPECT_EQ((block / "").str(), "messages.3.content.7.");
}

TEST(MessagesRequest, StringAndBlockContentBecomeTextTurns) {
    const auto r = parse(body_with(json::array(
        {{{"role", "user"}, {"content", "Hi"}},
         {{"role", "assistant"}, {"content", json::array({{{"type", "text"}, {"text", "Hello"}}})}},
         {{"role", "user"},
          {"content", json::array({{{"type", "text"}, {"text", "a"}},
                                   {{"type", "text"}, {"text", "b"}}})}}})));
    EXPECT_EQ(r.model, "m");
    EXPECT_EQ(r.max_tokens, 8);
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[0]["content"], "Hi");
    EXPECT_EQ(r.messages[1]["role"], "assistant");
    EXPECT_EQ(r.messages[2]["content"], "a\nb");
    EXPECT_TRUE(r.continuation.empty());
}

TEST(MessagesRequest, SystemFieldAndSystemMessagesFoldIntoOneLeadingTurn) {
    json body = body_with(json::array(
        {{{"role", "system"}, {"content", "late"}}, {{"role", "user"}, {"content", "Hi"}}}));
    body["system"] = json::array({{{"type", "text"}, {"text", "x-anthropic-billing-header: cch=1"}},
                                  {{"type", "text"}, {"text", "one"}},
                                  {{"type", "text"}, {"text", "two"}}});
    const auto r = parse(body);
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0]["role"], "system");
    EXPECT_EQ(r.messages[0]["content"], "one\n\ntwo\n\nlate");
}

TEST(MessagesRequest, MidConversationSystemBlocksFoldIntoTheSystemTurnInOrder) {
    const json mid = {{"type", "mid_conv_system"},
                      {"content", json::array({{{"type", "text"}, {"text", "inner one"}},
                                               {{"type", "text"}, {"text", "inner two"}}})}};
    json body = body_with(json::array(
        {{{"role", "user"}, {"content", "Hi"}},
         {{"role", "assistant"}, {"content", "Hello"}},
         {{"role", "user"}, {"content", json::array({mid, {{"type", "text"}, {"text", "Go"}}})}},
         {{"role", "system"}, {"content", "late"}},
         {{"role", "user"}, {"content", json::array({mid})}}}));
    body["system"] = "top";
    const auto r = parse(body);
    ASSERT_EQ(r.messages.size(), 4u) << r.messages.dump();
    EXPECT_EQ(r.messages[0]["role"], "system");
    EXPECT_EQ(r.messages[0]["content"],
              "top\n\ninner one\ninner two\n\nlate\n\ninner one\ninner two");
    // The block leaves its turn; a turn of nothing else is no turn.
    EXPECT_EQ(r.messages[3]["content"], "Go");
    EXPECT_TRUE(r.dropped_blocks.empty());
    // Its content must be text blocks, as a system prompt's.
    const json bad = {{"type", "mid_conv_system"}, {"content", 5}};
    EXPECT_NE(
        error_of(body_with(json::array({{{"role", "user"}, {"content", json::array({bad})}}})))
            .find("messages.0.content.0.content: expected a string or an array"),
        std::string::npos);
}

TEST(MessagesRequest, ConsecutiveSameRoleTurnsMergeAndAFinalAssistantTurnIsAPrefill) {
    const auto r = parse(body_with(json::array({{{"role", "user"}, {"content", "a"}},
                                                {{"role", "user"}, {"content", "b"}},
                                                {{"role", "assistant"}, {"content", "The"}}})));
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0]["content"], "a\n\nb");
    EXPECT_EQ(r.continuation, "The");
}

TEST(MessagesRequest, ToolResultsAreKeptWithTextContentAndOtherBlocksAreDroppedOncePerType) {
    const json blocks =
        json::array({{{"type", "tool_result"}, {"tool_use_id", "t1"}, {"content", "file text"}},
                     {{"type", "tool_result"},
                      {"tool_use_id", "t2"},
                      {"content", json::array({{{"type", "text"}, {"text", "x"}},
                                               {{"type", "image"}, {"source", json::object()}}})}},
                     {{"type", "image"}, {"source", json::object()}},
                     {{"type", "tool_result"}, {"tool_use_id", "t3"}}});
    json uses = json::array();
    for (const char* id : {"t1", "t2", "t3"}) {
        uses.push_back(
            {{"type", "tool_use"}, {"id", id}, {"name", "Read"}, {"input", json::object()}});
    }
    json body = body_with(json::array({{{"role", "user"}, {"content", "Read them"}},
                                       {{"role", "assistant"}, {"content", uses}},
                                       {{"role", "user"}, {"content", blocks}}}));
    body["tools"] = json::array({{{"name", "Read"}, {"input_schema", {{"type", "object"}}}}});
    const auto r = parse(body);
    const json expected =
        json::array({{{"type", "tool_result"}, {"tool_use_id", "t1"}, {"content", "file text"}},
                     {{"type", "tool_result"}, {"tool_use_id", "t2"}, {"content", "x"}},
                     {{"type", "tool_result"}, {"tool_use_id", "t3"}, {"content", ""}}});
    EXPECT_EQ(r.messages[2]["content"], expected);
    EXPECT_EQ(r.dropped_blocks, (std::vector<std::string>{"image"}));
}

TEST(MessagesRequest, ToolResultInsideAToolResultIsRejected) {
    const json inner = {{"type", "tool_result"}, {"tool_use_id", "b"}, {"content", "x"}};
    const json outer = {{"type", "tool_result"}, {"tool_use_id", "a"}, {"content", {inner}}};
    const std::string msg =
        error_of(body_with(json::array({{{"role", "user"}, {"content", {outer}}}})));
    EXPECT_NE(msg.find("messages.0.content.0.content.0: a tool_result block cannot be inside"),
              std::string::npos)
        << msg;
}

TEST(MessagesRequest, SamplingFieldsAndStopSequences) {
    json body = body_with(json::array({{{"role", "user"}, {"content", "Hi"}}}));
    body["temperature"] = 0.5;
    body["top_p"] = 0.9;
    body["top_k"] = 40;
    body["stream"] = true;
    body["stop_sequences"] = json::array({"END", "", "###"});
    body["tools"] = json::array({{{"name", "Read"}, {"input_schema", {{"type", "object"}}}}});
    const auto r = parse(body);
    EXPECT_FLOAT_EQ(*r.temperature, 0.5f);
    EXPECT_FLOAT_EQ(*r.top_p, 0.9f);
    EXPECT_EQ(*r.top_k, 40);
    EXPECT_TRUE(r.stream);
    EXPECT_EQ(r.stop_sequences, (std::vector<std::string>{"END", "###"}));
    ASSERT_EQ(r.tools.size(), 1u);
    EXPECT_EQ(r.tools[0]["name"], "Read");
    EXPECT_FALSE(r.tool_choice.has_value());  // the server's default applies
}

TEST(MessagesRequest, CountTokensNeedsNoMaxTokens) {
    const json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
    EXPECT_EQ(parse(body, Endpoint::CountTokens).messages.size(), 1u);
    EXPECT_NE(error_of(body).find("max_tokens: Field required"), std::string::npos);
}

TEST(MessagesRequest, ErrorsNameTheField) {
    const json user = {{"role", "user"}, {"content", "Hi"}};
    struct Case {
        json patch;
        std::string expected;
    };
    const Case cases[] = {
        {{{"max_tokens", "10"}}, "max_tokens: expected an integer, got a string"},
        {{{"max_tokens", 0}}, "max_tokens: must be between 1"},
        {{{"messages", "hello"}}, "messages: expected an array, got a string"},
        {{{"messages", json::array()}}, "messages: at least one message"},
        {{{"messages", {{{"role", "robot"}, {"content", "x"}}}}}, "messages.0.role: must be"},
        {{{"messages", {user, {{"role", "user"}}}}}, "messages.1.content: Field required"},
        {{{"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", 5}}}}}}}},
         "messages.0.content.0.text: expected a string"},
        {{{"messages", {{{"role", "user"}, {"content", {{{"text", "x"}}}}}}}},
         "messages.0.content.0.type: Field required"},
        {{{"messages", {{{"role", "user"}, {"content", {7}}}}}},
         "messages.0.content.0: expected a content block object, got a number"},
        {{{"messages", {{{"role", "assistant"}, {"content", "x"}}}}}, "needs a user turn"},
        {{{"temperature", "hot"}}, "temperature: expected a number"},
        {{{"top_k", 1.5}}, "top_k: expected an integer"},
        {{{"stop_sequences", {"a", 1}}}, "stop_sequences.1: expected a string"},
        {{{"system", 7}}, "system: expected a string or an array"},
        {{{"system", {{{"type", "text"}, {"text", "a"}}, 3}}},
         "system.1: expected a content block object"},
        {{{"stream", "yes"}}, "stream: expected a boolean"},
        {{{"model", 3}}, "model: expected a string"},
        {{{"tools", "all"}}, "tools: expected an array"},
    };
    for (const Case& c : cases) {
        json body = body_with(json::array({user}));
        for (const auto& [k, v] : c.patch.items()) body[k] = v;
        const std::string msg = error_of(body);
        EXPECT_NE(msg.find(c.expected), std::string::npos) << msg << " / " << c.expected;
    }
}

TEST(MessagesRequest, MalformedJsonAndNonObjectsAreRejected) {
    EXPECT_NE(error_of_text("{not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of_text("{\"model\": \"m\"} trailing").find("not valid JSON"),
              std::string::npos);
    EXPECT_NE(error_of_text("[1, 2]").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(error_of_text("{\"x\": 1e999}").find("not valid JSON"), std::string::npos);
}

TEST(MessagesRequest, RepeatedKeysKeepTheLastValue) {
    const auto r = parse_messages_request(
        R"({"model":"a","max_tokens":8,"model":"b","messages":[{"role":"user","content":"x"}]})",
        Endpoint::Messages);
    EXPECT_EQ(r.model, "b");
}

}  // namespace
}  // namespace pensieve::api
