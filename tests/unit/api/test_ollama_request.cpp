// The Ollama request translation (api/ollama_request.hpp): /api/chat and
// /api/generate bodies into the normalised request, and their 400s.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/ollama_request.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

const json kTool = {
    {"type", "function"},
    {"function",
     {{"name", "get_weather"},
      {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}};

OllamaRequest chat(const json& body) {
    return parse_ollama_chat_request(body.dump());
}

bool rejected(const json& body, bool generate = false) {
    try {
        if (generate) {
            parse_ollama_generate_request(body.dump());
        } else {
            chat(body);
        }
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        return true;
    }
    return false;
}

TEST(OllamaRequest, ChatStreamsByDefaultAndTakesOptions) {
    const json options = {
        {"temperature", 0.2},         {"top_k", 5},      {"seed", 3}, {"num_predict", 9},
        {"stop", json::array({"x"})}, {"num_ctx", 99999}};
    const OllamaRequest r =
        chat({{"model", "llama3"},
              {"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})},
              {"options", options}});
    EXPECT_FALSE(r.load_only);
    EXPECT_TRUE(r.core.stream);
    EXPECT_FLOAT_EQ(*r.core.temperature, 0.2f);
    EXPECT_EQ(r.core.top_k, 5);
    EXPECT_EQ(r.core.seed, 3u);
    EXPECT_EQ(r.core.max_tokens, 9);
    EXPECT_EQ(r.core.stop_sequences, std::vector<std::string>{"x"});
    EXPECT_EQ(r.num_ctx, 99999);  // the route checks it against the server's context
    const OllamaRequest unbounded =
        chat({{"model", "m"},
              {"stream", false},
              {"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})},
              {"options", {{"num_predict", -1}}}});
    EXPECT_FALSE(unbounded.core.stream);
    EXPECT_EQ(unbounded.core.max_tokens, kMaxTokensCap);
    EXPECT_EQ(unbounded.num_ctx, 0);
}

TEST(OllamaRequest, NumCtxIsAPositiveIntegerOnBothRoutes) {
    const json hi = json::array({{{"role", "user"}, {"content", "Hi"}}});
    EXPECT_EQ(parse_ollama_generate_request(
                  json{{"model", "m"}, {"prompt", "x"}, {"options", {{"num_ctx", 512}}}}.dump())
                  .num_ctx,
              512);
    EXPECT_EQ(
        chat({{"model", "m"}, {"messages", json::array()}, {"options", {{"num_ctx", 8}}}}).num_ctx,
        8);  // a load request carries it too
    for (const json& bad : {json(0), json(-4), json(1.5), json("2048")}) {
        EXPECT_TRUE(rejected({{"model", "m"}, {"messages", hi}, {"options", {{"num_ctx", bad}}}}))
            << bad;
        EXPECT_TRUE(
            rejected({{"model", "m"}, {"prompt", "x"}, {"options", {{"num_ctx", bad}}}}, true))
            << bad;
    }
}

TEST(OllamaRequest, ToolCallsWithoutIdsAreAnsweredInOrder) {
    const json messages = json::array(
        {{{"role", "user"}, {"content", "Weather?"}},
         {{"role", "assistant"},
          {"content", ""},
          {"tool_calls",
           json::array(
               {{{"function", {{"name", "get_weather"}, {"arguments", {{"city", "A"}}}}}},
                {{"function", {{"name", "get_weather"}, {"arguments", {{"city", "B"}}}}}}})}},
         {{"role", "tool"}, {"content", "sunny"}},
         {{"role", "tool"}, {"content", "rainy"}}});
    const OllamaRequest r =
        chat({{"model", "m"}, {"messages", messages}, {"tools", json::array({kTool})}});
    const json& calls = r.core.messages[1]["content"];
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0]["input"], (json{{"city", "A"}}));
    const json& results = r.core.messages[2]["content"];
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0]["tool_use_id"], calls[0]["id"]);
    EXPECT_EQ(results[0]["content"], "sunny");
    EXPECT_EQ(results[1]["tool_use_id"], calls[1]["id"]);
}

TEST(OllamaRequest, FormatBecomesTheOutputSchema) {
    const json user = json::array({{{"role", "user"}, {"content", "Hi"}}});
    EXPECT_EQ(chat({{"model", "m"}, {"messages", user}, {"format", "json"}}).core.output_schema,
              (json{{"type", "object"}}));
    const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
    EXPECT_EQ(chat({{"model", "m"}, {"messages", user}, {"format", schema}}).core.output_schema,
              schema);
}

TEST(OllamaRequest, EmptyRequestsOnlyLoad) {
    EXPECT_TRUE(chat({{"model", "m"}, {"messages", json::array()}}).load_only);
    EXPECT_TRUE(chat({{"model", "m"}}).load_only);
    EXPECT_TRUE(parse_ollama_generate_request(R"({"model":"m"})").load_only);
}

TEST(OllamaRequest, GenerateTemplatedOrRaw) {
    const OllamaRequest templated = parse_ollama_generate_request(
        R"({"model":"m","prompt":"Hi","system":"Be brief.","think":false})");
    ASSERT_EQ(templated.core.messages.size(), 2u);
    EXPECT_EQ(templated.core.messages[0]["content"], "Be brief.");
    EXPECT_EQ(templated.core.messages[1], (json{{"role", "user"}, {"content", "Hi"}}));
    EXPECT_EQ(templated.core.thinking.mode, Thinking::Mode::Disabled);
    const OllamaRequest raw =
        parse_ollama_generate_request(R"({"model":"m","prompt":"Once","raw":true})");
    EXPECT_EQ(raw.core.raw_prompt, "Once");
    EXPECT_EQ(raw.core.max_tokens, kMaxTokensCap);
}

TEST(OllamaRequest, WhatTheServerCannotHonourIs400) {
    const json user = json::array({{{"role", "user"}, {"content", "Hi"}}});
    EXPECT_TRUE(rejected({{"model", "m"},
                          {"messages", json::array({{{"role", "user"},
                                                     {"content", "x"},
                                                     {"images", json::array({"AAAA"})}}})}}));
    EXPECT_TRUE(rejected({{"model", "m"}, {"messages", user}, {"options", {{"num_predict", 0}}}}));
    EXPECT_TRUE(rejected({{"model", "m"}, {"messages", user}, {"format", 7}}));
    EXPECT_TRUE(rejected({{"model", "m"}, {"messages", user}, {"stream", "yes"}}));
    EXPECT_TRUE(rejected({{"model", "m"}, {"messages", user}, {"think", "high"}}));
    EXPECT_TRUE(rejected(
        {{"model", "m"}, {"messages", json::array({{{"role", "tool"}, {"content", "x"}}})}}));
    EXPECT_TRUE(rejected({{"messages", user}}));
    EXPECT_TRUE(rejected({{"model", "m"}, {"prompt", "x"}, {"template", "t"}}, true));
    EXPECT_TRUE(rejected({{"model", "m"}, {"prompt", "x"}, {"context", json::array({1})}}, true));
    EXPECT_TRUE(rejected({{"model", "m"}, {"prompt", "x"}, {"images", json::array({"A"})}}, true));
}

}  // namespace
}  // namespace pensieve::api
