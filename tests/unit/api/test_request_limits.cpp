// The bounds of api/limits.hpp on hostile request shapes: each is accepted up
// to its limit and rejected past it with a 400 naming the field and the limit.
// Every body here is parsed in time and memory linear in its size; a shape
// that is not would make this test run for minutes or run out of memory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/json_body.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

const RequestLimits kLimits;

// A request whose messages array is `messages` (JSON text).
std::string request(const std::string& messages, const std::string& extra = "") {
    return R"({"model":"m","max_tokens":8,)" + extra + R"("messages":)" + messages + "}";
}

// A request with one user message whose content is `content` (JSON text).
std::string user_request(const std::string& content, const std::string& extra = "") {
    return request(R"([{"role":"user","content":)" + content + "}]", extra);
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

// `n` copies of `item` joined by commas, in brackets.
std::string array_of(const std::string& item, std::size_t n) {
    std::string out = "[";
    out.reserve(item.size() * n + n + 2);
    for (std::size_t i = 0; i < n; ++i) (out += i ? "," : "") += item;
    return out + "]";
}

std::string error_of(const std::string& body) {
    try {
        parse_messages_request(body, Endpoint::Messages);
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.type, "invalid_request_error");
        return e.what();
    }
    ADD_FAILURE() << "accepted a body of " << body.size() << " bytes";
    return "";
}

#define EXPECT_ERROR(body, text)                                              \
    do {                                                                      \
        const std::string msg_ = error_of(body);                              \
        EXPECT_NE(msg_.find(text), std::string::npos) << msg_.substr(0, 400); \
    } while (0)

TEST(RequestLimits, NestingUpToTheCapParsesAndOneLevelMoreIsRejected) {
    const std::size_t cap = kLimits.max_json_depth;
    // The body object is level 1, so its field "x" may hold cap - 1 levels.
    const auto nested = [](std::size_t levels) {
        return repeat("[", levels) + repeat("]", levels) + ",";
    };
    const auto r = parse_messages_request(user_request("\"hi\"", R"("x":)" + nested(cap - 1)),
                                          Endpoint::Messages);
    EXPECT_EQ(r.messages[0]["content"], "hi");
    EXPECT_ERROR(user_request("\"hi\"", R"("x":)" + nested(cap)),
                 "x" + repeat(".0", cap - 1) + ": JSON nested deeper than 64 levels (the limit)");
    EXPECT_ERROR(repeat("[", cap) + repeat("]", cap), "request body must be a JSON object");
    EXPECT_ERROR(repeat("[", cap + 1) + repeat("]", cap + 1), "nested deeper than 64 levels");
}

TEST(RequestLimits, AMillionOpenBracketsAreRejectedAtTheCap) {
    EXPECT_ERROR(repeat("[", 1'000'000), "JSON nested deeper than 64 levels");
    EXPECT_ERROR(repeat(R"({"a":)", 1'000'000), repeat("a.", 63) + "a: JSON nested deeper");
}

TEST(RequestLimits, DeeplyNestedToolResultsAreRejectedNamingThePath) {
    // The 2.9 MB shape that overflowed the stack of the recursive validator.
    const std::size_t levels = 55'000;
    const std::string open = R"([{"type":"tool_result","tool_use_id":"t","content":)";
    const std::string body = user_request(repeat(open, levels) + "\"x\"" + repeat("}]", levels));
    ASSERT_GT(body.size(), 2'900'000u);
    EXPECT_ERROR(body, "messages.0.content.0.content.0.content.0.");
    EXPECT_ERROR(body, "JSON nested deeper than 64 levels (the limit)");
    // Two levels (within the depth cap) are the API's own error.
    EXPECT_ERROR(user_request(repeat(open, 2) + "\"x\"" + repeat("}]", 2)),
                 "messages.0.content.0.content.0: a tool_result block cannot be inside");
}

TEST(RequestLimits, AHundredThousandTinyBlocksAreAcceptedAndOneMoreIsRejected) {
    const std::string block = R"({"type":"text","text":"a"})";
    const std::size_t cap = kLimits.max_content_blocks;
    const auto r = parse_messages_request(user_request(array_of(block, cap)), Endpoint::Messages);
    EXPECT_EQ(r.messages[0]["content"].get_ref<const std::string&>().size(), 2 * cap - 1);
    EXPECT_ERROR(user_request(array_of(block, cap + 1)),
                 "messages.0.content.100000: more than 100000 content blocks in the request "
                 "(the limit)");
    // The count is over the whole request, tool results' blocks included.
    const std::string half = array_of(block, cap / 2);
    const std::string tool_result =
        R"([{"type":"tool_result","tool_use_id":"t","content":)" + half + "}]";
    EXPECT_ERROR(request("[" + std::string(R"({"role":"user","content":)") + half + R"(},)" +
                         R"({"role":"assistant","content":"ok"},)" +
                         R"({"role":"user","content":)" + tool_result + "}]"),
                 "messages.2.content.0.content.49999: more than 100000 content blocks");
    // Dropped blocks count too, and their types are recorded once.
    const auto dropped = parse_messages_request(user_request(array_of(R"({"type":"image"})", cap)),
                                                Endpoint::Messages);
    EXPECT_EQ(dropped.dropped_blocks, std::vector<std::string>{"image"});
}

TEST(RequestLimits, AHundredThousandMessagesAreAcceptedAndOneMoreIsRejected) {
    const std::string message = R"({"role":"user","content":"a"})";
    const std::size_t cap = kLimits.max_messages;
    const auto r = parse_messages_request(request(array_of(message, cap)), Endpoint::Messages);
    ASSERT_EQ(r.messages.size(), 1u);  // all merged into one user turn
    EXPECT_ERROR(request(array_of(message, cap + 1)),
                 "messages: more than 100000 messages (the limit)");
    EXPECT_ERROR(request(array_of("0", 1'000'000)), "messages: more than 100000 messages");
}

TEST(RequestLimits, AMillionElementArrayInAnUnknownFieldIsAccepted) {
    const auto r = parse_messages_request(
        user_request("\"hi\"", R"("x":)" + array_of("0", 1'000'000) + ","), Endpoint::Messages);
    EXPECT_EQ(r.messages[0]["content"], "hi");
}

TEST(RequestLimits, ValuesPastTheCapAreRejectedWhileParsing) {
    const std::size_t cap = kLimits.max_json_values;
    EXPECT_ERROR(user_request("\"hi\"", R"("x":)" + array_of("[]", cap) + ","),
                 "more than 2097152 JSON values in the request body (the limit)");
    // A root array of cap - 1 items is cap values; one item more is too many.
    EXPECT_ERROR(array_of("0", cap - 1), "request body must be a JSON object");
    EXPECT_ERROR(array_of("0", cap), "2097151: more than 2097152 JSON values");
}

TEST(RequestLimits, AnObjectOfAMillionKeysParsesInLinearTimeKeepingKeyOrder) {
    std::string text = "{";
    for (int i = 0; i < 1'000'000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
    text += ",\"k5\":1,\"k999999\":2}";  // repeated keys: first position, last value
    const json doc = parse_json_body(text, kLimits);
    ASSERT_EQ(doc.size(), 1'000'000u);
    EXPECT_EQ(doc.begin().key(), "k0");
    EXPECT_EQ(doc.get_ref<const json::object_t&>().back().first, "k999999");
    EXPECT_EQ(doc["k5"], 1);
    EXPECT_EQ(doc["k999999"], 2);
    // Repeats below the hash index's threshold behave the same.
    EXPECT_EQ(parse_json_body(R"({"a":1,"b":2,"a":3})", kLimits).dump(), R"({"a":3,"b":2})");
}

TEST(RequestLimits, StringsAndKeysPastSixteenMebibytesAreRejected) {
    const std::string big(30u << 20, 'a');
    EXPECT_ERROR(user_request("\"" + big + "\""),
                 "messages.0.content: a string longer than 16777216 bytes (the limit)");
    EXPECT_ERROR(user_request("\"hi\"", "\"" + big + "\":0,"),
                 "request body: an object key longer than 16777216 bytes");
    const std::string at_cap(kLimits.max_string_bytes, 'a');
    const auto r = parse_messages_request(user_request("\"" + at_cap + "\""), Endpoint::Messages);
    EXPECT_EQ(r.messages[0]["content"].get_ref<const std::string&>().size(), at_cap.size());
}

TEST(RequestLimits, ShortFieldsAreBounded) {
    EXPECT_ERROR(R"({"model":")" + std::string(257, 'm') + R"(","max_tokens":8,"messages":[]})",
                 "model: longer than 256 bytes (the limit)");
    EXPECT_ERROR(user_request(R"([{"type":")" + std::string(65, 't') + R"("}])"),
                 "messages.0.content.0.type: longer than 64 bytes (the limit)");
    const auto stops = [](std::size_t n, std::size_t bytes) {
        return R"("stop_sequences":)" + array_of('"' + std::string(bytes, 's') + '"', n) + ",";
    };
    EXPECT_EQ(parse_messages_request(user_request("\"x\"", stops(16, 256)), Endpoint::Messages)
                  .stop_sequences.size(),
              16u);
    EXPECT_ERROR(user_request("\"x\"", stops(17, 1)),
                 "stop_sequences: more than 16 stop sequences (the limit)");
    EXPECT_ERROR(user_request("\"x\"", stops(2, 257)),
                 "stop_sequences.0: longer than 256 bytes (the limit)");
}

TEST(RequestLimits, ToolsAreBoundedInCountNamesDescriptionsAndSchemaDepth) {
    const auto tools = [](const std::string& tool, std::size_t n) {
        return R"("tools":)" + array_of(tool, n) + ",";
    };
    const std::string tool = R"({"name":"Read","input_schema":{"type":"object"}})";
    std::string distinct = R"("tools":[)";  // 1000 tools named t0 .. t999
    for (int i = 0; i < 1000; ++i) {
        distinct += (i ? "," : "") + std::string(R"({"name":"t)") + std::to_string(i) +
                    R"(","input_schema":{"type":"object"}})";
    }
    distinct += "],";
    EXPECT_EQ(
        parse_messages_request(user_request("\"x\"", distinct), Endpoint::Messages).tools.size(),
        1000u);
    EXPECT_ERROR(user_request("\"x\"", tools(tool, 1001)),
                 "tools: more than 1000 tools (the limit)");
    EXPECT_ERROR(user_request("\"x\"", tools(R"({"name":")" + std::string(257, 'n') + "\"}", 1)),
                 "tools.0.name: longer than 256 bytes");
    EXPECT_ERROR(
        user_request("\"x\"",
                     tools(R"({"name":"a","description":")" +
                               std::string(kLimits.max_tool_description_bytes + 1, 'd') + "\"}",
                           2)),
        "tools.0.description: longer than 262144 bytes");
    const auto schema = [](std::size_t levels) {  // `levels` nested objects
        return R"({"name":"a","input_schema":)" + repeat(R"({"p":)", levels - 1) + "{}" +
               repeat("}", levels - 1) + "}";
    };
    EXPECT_EQ(
        parse_messages_request(user_request("\"x\"", tools(schema(32), 1)), Endpoint::Messages)
            .tools.size(),
        1u);
    EXPECT_ERROR(user_request("\"x\"", tools(schema(33), 1)),
                 "tools.0.input_schema: nested deeper than 32 levels (the limit)");
}

}  // namespace
}  // namespace pensieve::api
