// The OpenAI request translation (api/openai_request.hpp): Chat Completions
// and Completions bodies into the normalised request the shared generation
// path runs, and the 400s for what it cannot honour.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/openai_request.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;
using Kind = chat::ToolChoice::Kind;

const json kWeather = {{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather for a city"},
                         {"parameters",
                          {{"type", "object"},
                           {"properties", {{"city", {{"type", "string"}}}}},
                           {"required", json::array({"city"})}}}}}};

json chat(const json& patch) {
    json body = {{"model", "gpt-x"},
                 {"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})}};
    for (const auto& [k, v] : patch.items()) body[k] = v;
    return body;
}

OpenAiRequest parse(const json& body) {
    return parse_chat_completions_request(body.dump());
}

// The message of the 400 that parsing `body` raises ("" if none).
std::string error_of(const json& body, bool completions = false) {
    try {
        if (completions) {
            parse_completions_request(body.dump());
        } else {
            parse(body);
        }
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        return e.what();
    }
    return "";
}

TEST(OpenAiRequest, RolesBecomeTheNormalisedConversation) {
    const OpenAiRequest r = parse(
        chat({{"messages",
               json::array({{{"role", "system"}, {"content", "Be terse."}},
                            {{"role", "developer"},
                             {"content", json::array({{{"type", "text"}, {"text", "Plain."}}})}},
                            {{"role", "user"}, {"content", "Hi"}},
                            {{"role", "assistant"}, {"content", "Hello."}},
                            {{"role", "user"},
                             {"content", json::array({{{"type", "text"}, {"text", "a"}},
                                                      {{"type", "text"}, {"text", "b"}}})}}})}}));
    ASSERT_EQ(r.core.messages.size(), 4u);
    EXPECT_EQ(r.core.messages[0], (json{{"role", "system"}, {"content", "Be terse.\n\nPlain."}}));
    EXPECT_EQ(r.core.messages[1]["content"], "Hi");
    EXPECT_EQ(r.core.messages[2], (json{{"role", "assistant"}, {"content", "Hello."}}));
    EXPECT_EQ(r.core.messages[3]["content"], "a\nb");
    EXPECT_EQ(r.core.model, "gpt-x");
    EXPECT_FALSE(r.core.stream);
    EXPECT_EQ(r.core.max_tokens, kMaxTokensCap);  // absent: up to the context
}

TEST(OpenAiRequest, SamplingStopSeedAndStreamOptions) {
    const OpenAiRequest r = parse(chat({{"temperature", 0.5},
                                        {"top_p", 0.9},
                                        {"max_completion_tokens", 7},
                                        {"stop", "END"},
                                        {"seed", 42},
                                        {"n", 1},
                                        {"stream", true},
                                        {"stream_options", {{"include_usage", true}}}}));
    EXPECT_FLOAT_EQ(*r.core.temperature, 0.5f);
    EXPECT_FLOAT_EQ(*r.core.top_p, 0.9f);
    EXPECT_EQ(r.core.max_tokens, 7);
    EXPECT_EQ(r.core.stop_sequences, std::vector<std::string>{"END"});
    EXPECT_EQ(r.core.seed, 42u);
    EXPECT_TRUE(r.core.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_EQ(parse(chat({{"stop", json::array({"a", "b"})}})).core.stop_sequences.size(), 2u);
    EXPECT_EQ(parse(chat({{"max_tokens", 3}})).core.max_tokens, 3);
}

TEST(OpenAiRequest, ToolsAndToolHistoryBecomeToolUseAndToolResultBlocks) {
    const json messages = json::array(
        {{{"role", "user"}, {"content", "Weather in Paris?"}},
         {{"role", "assistant"},
          {"content", nullptr},
          {"tool_calls",
           json::array(
               {{{"id", "call_1"},
                 {"type", "function"},
                 {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}}})}},
         {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "Sunny"}}});
    const OpenAiRequest r = parse(chat(
        {{"messages", messages}, {"tools", json::array({kWeather})}, {"tool_choice", "required"}}));
    ASSERT_EQ(r.core.tools.size(), 1u);
    EXPECT_EQ(r.core.tools[0]["name"], "get_weather");
    EXPECT_EQ(r.core.tools[0]["input_schema"], kWeather["function"]["parameters"]);
    ASSERT_TRUE(r.core.tool_choice);
    EXPECT_EQ(r.core.tool_choice->kind, Kind::Any);
    ASSERT_EQ(r.core.messages.size(), 3u);
    EXPECT_EQ(r.core.messages[1]["content"][0], (json{{"type", "tool_use"},
                                                      {"id", "call_1"},
                                                      {"name", "get_weather"},
                                                      {"input", {{"city", "Paris"}}}}));
    EXPECT_EQ(r.core.messages[2]["content"][0],
              (json{{"type", "tool_result"}, {"tool_use_id", "call_1"}, {"content", "Sunny"}}));
}

TEST(OpenAiRequest, ToolChoiceForms) {
    const json tools = json::array({kWeather});
    EXPECT_EQ(parse(chat({{"tools", tools}, {"tool_choice", "auto"}})).core.tool_choice->kind,
              Kind::Auto);
    EXPECT_EQ(parse(chat({{"tools", tools}, {"tool_choice", "none"}})).core.tool_choice->kind,
              Kind::None);
    const OpenAiRequest named = parse(
        chat({{"tools", tools},
              {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
              {"parallel_tool_calls", false}}));
    EXPECT_EQ(named.core.tool_choice->kind, Kind::Tool);
    EXPECT_EQ(named.core.tool_choice->name, "get_weather");
    EXPECT_TRUE(named.core.tool_choice->disable_parallel);
    EXPECT_FALSE(parse(chat({{"tools", tools}})).core.tool_choice);  // the server's default
    const OpenAiRequest single = parse(chat({{"tools", tools}, {"parallel_tool_calls", false}}));
    EXPECT_FALSE(single.core.tool_choice);  // still the server's default, with one call
    EXPECT_TRUE(single.core.one_tool_call);
    EXPECT_FALSE(parse(chat({{"tools", tools}})).core.one_tool_call);
    EXPECT_NE(error_of(chat({{"tools", tools}, {"tool_choice", "any"}})), "");
    EXPECT_NE(
        error_of(chat({{"tools", tools},
                       {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}})),
        "");
}

TEST(OpenAiRequest, ResponseFormatBecomesTheOutputSchema) {
    EXPECT_TRUE(
        parse(chat({{"response_format", {{"type", "text"}}}})).core.output_schema.is_null());
    EXPECT_EQ(parse(chat({{"response_format", {{"type", "json_object"}}}})).core.output_schema,
              (json{{"type", "object"}}));
    const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
    EXPECT_EQ(
        parse(chat({{"response_format",
                     {{"type", "json_schema"},
                      {"json_schema", {{"name", "x"}, {"schema", schema}, {"strict", true}}}}}}))
            .core.output_schema,
        schema);
}

TEST(OpenAiRequest, WhatTheServerCannotHonourIs400NamingTheField) {
    EXPECT_NE(error_of(chat({{"n", 2}})).find("n: only 1"), std::string::npos);
    EXPECT_EQ(error_of(chat({{"n", 1}})), "");
    EXPECT_NE(error_of(chat({{"logprobs", true}})).find("logprobs"), std::string::npos);
    EXPECT_EQ(error_of(chat({{"logprobs", false}})), "");
    EXPECT_NE(error_of(chat({{"messages", json::array({{{"role", "bot"}, {"content", "x"}}})}}))
                  .find("messages.0.role"),
              std::string::npos);
    const json image = {
        {"role", "user"},
        {"content", json::array({{{"type", "image_url"},
                                  {"image_url", {{"url", "data:image/png;base64,AA=="}}}}})}};
    EXPECT_NE(
        error_of(chat({{"messages", json::array({image})}})).find("messages.0.content.0.type"),
        std::string::npos);
    const json bad_arguments = {
        {"role", "assistant"},
        {"tool_calls",
         json::array({{{"id", "c"},
                       {"type", "function"},
                       {"function", {{"name", "get_weather"}, {"arguments", "[1]"}}}}})}};
    EXPECT_NE(error_of(chat({{"tools", json::array({kWeather})},
                             {"messages", json::array({{{"role", "user"}, {"content", "x"}},
                                                       bad_arguments,
                                                       {{"role", "user"}, {"content", "y"}}})}}))
                  .find("messages.1.tool_calls.0.function.arguments"),
              std::string::npos);
    EXPECT_NE(
        error_of(chat(
            {{"messages",
              json::array({{{"role", "tool"}, {"tool_call_id", "nope"}, {"content", "x"}}})}})),
        "");
    EXPECT_NE(error_of(chat({{"temperature", 3}})), "");
    EXPECT_NE(error_of(json{{"model", "m"}}), "");
    EXPECT_NE(error_of(chat({{"functions", json::array()}})), "");
    EXPECT_NE(error_of(chat({{"seed", "7"}})).find("seed"), std::string::npos);
}

TEST(OpenAiRequest, CompletionsTakeARawPromptWithoutMessages) {
    const OpenAiRequest r = parse_completions_request(
        json{{"model", "m"}, {"prompt", "Once upon"}, {"stop", "\n"}, {"echo", false}}.dump());
    EXPECT_EQ(r.core.raw_prompt, "Once upon");
    EXPECT_TRUE(r.core.messages.empty());
    EXPECT_EQ(r.core.max_tokens, kCompletionsDefaultMaxTokens);
    EXPECT_EQ(r.core.stop_sequences, std::vector<std::string>{"\n"});
    EXPECT_EQ(parse_completions_request(R"({"model":"m","prompt":["one"]})").core.raw_prompt,
              "one");
    const json base = {{"model", "m"}, {"prompt", "x"}};
    for (const json& bad :
         {json{{"echo", true}}, json{{"n", 2}}, json{{"suffix", "s"}}, json{{"best_of", 3}},
          json{{"logprobs", 1}}, json{{"prompt", json::array({"a", "b"})}},
          json{{"prompt", json::array({1, 2})}}, json{{"prompt", 5}}}) {
        json body = base;
        for (const auto& [k, v] : bad.items()) body[k] = v;
        EXPECT_NE(error_of(body, true), "") << bad.dump();
    }
    EXPECT_NE(error_of(json{{"model", "m"}}, true), "");
}

TEST(OpenAiRequest, TheSameLimitsApply) {
    RequestLimits limits;
    limits.max_json_depth = 8;
    const std::string deep = R"({"model":"m","messages":[{"role":"user","content":"x"}],"x":)" +
                             std::string(20, '[') + std::string(20, ']') + "}";
    EXPECT_THROW(parse_chat_completions_request(deep, limits), ApiError);
    limits = {};
    limits.max_stop_sequences = 1;
    EXPECT_THROW(
        parse_chat_completions_request(chat({{"stop", json::array({"a", "b"})}}).dump(), limits),
        ApiError);
}

}  // namespace
}  // namespace pensieve::api
