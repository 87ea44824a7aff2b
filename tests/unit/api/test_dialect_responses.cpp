// The OpenAI and Ollama reply framing (openai_response.hpp,
// ollama_response.hpp): how block events become chunks and lines, usage,
// finish reasons and error envelopes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/ollama_response.hpp"
#include "api/openai_response.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

// The JSON of a "data: {...}\n\n" chunk.
json chunk_of(const std::string& sse) {
    EXPECT_TRUE(sse.starts_with("data: ")) << sse;
    EXPECT_TRUE(sse.ends_with("\n\n")) << sse;
    return json::parse(sse.substr(6));
}

TEST(OpenAiResponse, ToolCallsAreNumberedFromZeroWithIdAndNameFirst) {
    const OpenAiReply reply = new_openai_reply(OpenAiReply::Kind::Chat, "m", false);
    const auto framing = openai_framing(reply);
    EXPECT_EQ(framing->text_start(0), "");
    EXPECT_EQ(chunk_of(framing->text_delta(0, "Hi"))["choices"][0]["delta"]["content"], "Hi");
    EXPECT_EQ(framing->block_stop(0), "");
    const json first = chunk_of(framing->tool_start(1, "toolu_1", "f"))["choices"][0]["delta"];
    EXPECT_EQ(first["tool_calls"][0], (json{{"index", 0},
                                            {"id", "toolu_1"},
                                            {"type", "function"},
                                            {"function", {{"name", "f"}, {"arguments", ""}}}}));
    const json piece = chunk_of(framing->tool_delta(1, "{\"a\""))["choices"][0]["delta"];
    EXPECT_EQ(piece["tool_calls"][0],
              (json{{"index", 0}, {"function", {{"arguments", "{\"a\""}}}}));
    chunk_of(framing->tool_start(2, "toolu_2", "g"));
    const json second = chunk_of(framing->tool_delta(2, "{}"))["choices"][0]["delta"];
    EXPECT_EQ(second["tool_calls"][0]["index"], 1);
    const json c = chunk_of(framing->text_delta(0, "x"));
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["id"], reply.id);
    EXPECT_FALSE(c.contains("usage"));  // only with include_usage
}

TEST(OpenAiResponse, WholeReplyUsageAndFinishReasons) {
    const OpenAiReply reply = new_openai_reply(OpenAiReply::Kind::Chat, "m", false);
    const json content =
        json::array({{{"type", "tool_use"}, {"id", "t1"}, {"name", "f"}, {"input", {{"a", 1}}}}});
    const json whole = openai_reply_json(reply, content, "tool_use", {10, 5, 30});
    const json& message = whole["choices"][0]["message"];
    EXPECT_TRUE(message["content"].is_null());
    EXPECT_EQ(message["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
    EXPECT_EQ(whole["choices"][0]["finish_reason"], "tool_calls");
    EXPECT_EQ(whole["usage"], (json{{"prompt_tokens", 40},
                                    {"completion_tokens", 5},
                                    {"total_tokens", 45},
                                    {"prompt_tokens_details", {{"cached_tokens", 30}}}}));
    EXPECT_EQ(finish_reason("end_turn"), "stop");
    EXPECT_EQ(finish_reason("stop_sequence"), "stop");
    EXPECT_EQ(finish_reason("max_tokens"), "length");
    const OpenAiReply text = new_openai_reply(OpenAiReply::Kind::Completion, "m", true);
    EXPECT_TRUE(text.id.starts_with("cmpl-"));
    const json done = openai_reply_json(text, json::array({{{"type", "text"}, {"text", "ok"}}}),
                                        "end_turn", {1, 1, 0});
    EXPECT_EQ(done["object"], "text_completion");
    EXPECT_EQ(done["choices"][0]["text"], "ok");
    const json usage = chunk_of(openai_stream_usage(text, {1, 2, 3}));
    EXPECT_TRUE(usage["choices"].empty());
    EXPECT_EQ(usage["usage"]["total_tokens"], 6);
    EXPECT_EQ(openai_stream_done(), "data: [DONE]\n\n");
}

TEST(OpenAiResponse, ErrorEnvelopeNamesTheParam) {
    const json e = openai_error_body(400, "invalid_request_error", "messages.0.role: bad");
    EXPECT_EQ(e, (json{{"error",
                        {{"message", "messages.0.role: bad"},
                         {"type", "invalid_request_error"},
                         {"param", "messages.0.role"},
                         {"code", "invalid_request_error"}}}}));
    EXPECT_TRUE(
        openai_error_body(529, "overloaded_error", "the server is busy; retry")["error"]["param"]
            .is_null());
    EXPECT_EQ(openai_error_body(529, "overloaded_error", "x")["error"]["type"], "server_error");
    EXPECT_EQ(openai_error_body(401, "authentication_error", "x")["error"]["type"],
              "authentication_error");
}

TEST(OllamaResponse, CallsLeaveWholeOnceComplete) {
    const auto framing = ollama_framing({OllamaReply::Kind::Chat, "m"});
    EXPECT_EQ(framing->tool_start(0, "id", "f"), "");
    EXPECT_EQ(framing->tool_delta(0, "{\"a\":"), "");
    EXPECT_EQ(framing->tool_delta(0, "[1]}"), "");
    const std::string line = framing->block_stop(0);
    ASSERT_TRUE(line.ends_with("\n"));
    const json call = json::parse(line)["message"]["tool_calls"][0];
    EXPECT_EQ(call, (json{{"function", {{"name", "f"}, {"arguments", {{"a", {1}}}}}}}));
    // A call cut off (or broken) is not sent at all.
    framing->tool_start(1, "id2", "f");
    framing->tool_delta(1, "{\"a\":");
    EXPECT_EQ(framing->block_stop(1), "");
    const json text = json::parse(framing->text_delta(2, "hi"));
    EXPECT_EQ(text["message"], (json{{"role", "assistant"}, {"content", "hi"}}));
    EXPECT_EQ(text["done"], false);
}

TEST(OllamaResponse, FinalObjectCarriesCountsAndDurations) {
    const json last = json::parse(
        ollama_stream_end({OllamaReply::Kind::Generate, "m"}, "max_tokens", {7, 3, 2}, {0.5, 1.5}));
    EXPECT_EQ(last["response"], "");
    EXPECT_EQ(last["done"], true);
    EXPECT_EQ(last["done_reason"], "length");
    EXPECT_EQ(last["prompt_eval_count"], 9);
    EXPECT_EQ(last["eval_count"], 3);
    EXPECT_EQ(last["prompt_eval_duration"], 500000000);
    EXPECT_EQ(last["total_duration"], 2000000000);
    EXPECT_EQ(ollama_error_body("bad"), (json{{"error", "bad"}}));
    const std::string stamp = ollama_timestamp();
    EXPECT_EQ(stamp.size(), 30u) << stamp;  // 2024-01-01T00:00:00.000000000Z
    EXPECT_TRUE(stamp.ends_with("Z"));
}

TEST(OllamaResponse, PsListsTheLoadedModelOnTheCpu) {
    OllamaModelFacts facts;
    facts.model.id = "smol";
    facts.file_bytes = 1234;
    facts.architecture = "llama";
    facts.model.context = 4096;
    const json ps = ollama_ps_json(facts);
    ASSERT_EQ(ps["models"].size(), 1u);
    const json& m = ps["models"][0];
    EXPECT_EQ(m["name"], "smol");
    EXPECT_EQ(m["model"], "smol");
    EXPECT_EQ(m["size"], 1234);
    EXPECT_EQ(m["size_vram"], 0);
    EXPECT_EQ(m["context_length"], 4096);
    EXPECT_EQ(m["details"]["family"], "llama");
    EXPECT_EQ(m["details"], ollama_tags_json(facts)["models"][0]["details"]);
    EXPECT_EQ(m["expires_at"], "9999-12-31T23:59:59Z");
    // /api/show tells the same context where clients read num_ctx.
    const json shown = ollama_show_json(facts, true);
    EXPECT_EQ(shown["parameters"], "num_ctx 4096");
    EXPECT_EQ(shown["model_info"]["llama.context_length"], 4096);
}

}  // namespace
}  // namespace pensieve::api
