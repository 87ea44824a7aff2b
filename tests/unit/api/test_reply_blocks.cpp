// ReplyBlocks: generated text in any split becomes the same content blocks
// on a stream (SSE events, each data line parsed and checked for contiguous
// indices, one open block at a time, balanced starts and stops) and in the
// final `content` array.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "api/reply_blocks.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

// The data of each SSE event in `sse`, checked to match its event name.
std::vector<json> events_of(const std::string& sse) {
    std::vector<json> out;
    size_t at = 0;
    while (at < sse.size()) {
        const size_t end = sse.find("\n\n", at);
        EXPECT_NE(end, std::string::npos) << "unterminated event: " << sse.substr(at);
        if (end == std::string::npos) break;
        const std::string event = sse.substr(at, end - at);
        at = end + 2;
        EXPECT_TRUE(event.starts_with("event: ")) << event;
        const size_t nl = event.find('\n');
        EXPECT_NE(nl, std::string::npos) << event;
        if (nl == std::string::npos) continue;
        const std::string name = event.substr(7, nl - 7);
        const std::string data_line = event.substr(nl + 1);
        EXPECT_TRUE(data_line.starts_with("data: ")) << event;
        EXPECT_EQ(data_line.find('\n'), std::string::npos) << event;
        json data = json::parse(data_line.substr(6));
        EXPECT_EQ(data["type"], name);
        out.push_back(std::move(data));
    }
    return out;
}

// What one reply gave: the blocks as rebuilt from the stream, and content().
struct Outcome {
    std::vector<json> events;
    json streamed = json::array();  // blocks rebuilt from the events
    json content;
    int tool_calls = 0;
    bool cut_call_started = false;
};

// Rebuilds blocks from events, checking the stream's shape on the way.
json rebuild(const std::vector<json>& events) {
    json blocks = json::array();
    int open = -1;
    std::string partial_json;
    for (const json& e : events) {
        const std::string& type = e["type"].get_ref<const std::string&>();
        if (type == "content_block_start") {
            EXPECT_EQ(open, -1) << "a block started while block " << open << " is open";
            EXPECT_EQ(e["index"], static_cast<int>(blocks.size())) << "indices are contiguous";
            open = e["index"].get<int>();
            json block = e["content_block"];
            if (block["type"] == "text") {
                EXPECT_EQ(block["text"], "");
            } else {
                EXPECT_EQ(block["type"], "tool_use");
                EXPECT_EQ(block["input"], json::object());
                EXPECT_TRUE(block["id"].get<std::string>().starts_with("toolu_"));
                partial_json.clear();
            }
            blocks.push_back(std::move(block));
        } else if (type == "content_block_delta") {
            EXPECT_EQ(e["index"], open) << "delta for a block that is not open";
            if (open < 0) continue;
            json& block = blocks[static_cast<size_t>(open)];
            if (e["delta"]["type"] == "text_delta") {
                EXPECT_EQ(block["type"], "text");
                block["text"] =
                    block["text"].get<std::string>() + e["delta"]["text"].get<std::string>();
            } else {
                EXPECT_EQ(e["delta"]["type"], "input_json_delta");
                EXPECT_EQ(block["type"], "tool_use");
                partial_json += e["delta"]["partial_json"].get<std::string>();
            }
        } else if (type == "content_block_stop") {
            EXPECT_EQ(e["index"], open) << "stop for a block that is not open";
            if (open >= 0 && blocks[static_cast<size_t>(open)]["type"] == "tool_use") {
                json& block = blocks[static_cast<size_t>(open)];
                // A call cut off streams JSON that never completes: kept as is.
                if (partial_json.empty()) {
                    block["input"] = json::object();
                } else if (json::accept(partial_json)) {
                    block["input"] = json::parse(partial_json);
                } else {
                    block["unfinished_json"] = partial_json;
                }
            }
            open = -1;
        } else {
            ADD_FAILURE() << "unexpected event " << e.dump();
        }
    }
    EXPECT_EQ(open, -1) << "a block was left open";
    return blocks;
}

Outcome run(const std::vector<std::string>& pieces, ReplyBlocks::Options options,
            bool inside_call = false) {
    ReplyBlocks blocks(std::move(options));
    std::string sse;
    for (const std::string& p : pieces) sse += blocks.feed(p);
    sse += blocks.finish(inside_call);
    Outcome r;
    r.events = events_of(sse);
    r.streamed = rebuild(r.events);
    r.content = blocks.content();
    r.tool_calls = blocks.tool_calls();
    r.cut_call_started = blocks.cut_call_started();
    return r;
}

// The text fed whole, one character at a time (every ASCII byte alone), and
// in seeded random pieces. Pieces hold whole UTF-8 characters, as the
// engine's stream decoder gives them.
std::vector<std::vector<std::string>> splits(const std::string& text) {
    std::vector<std::string> chars;
    for (size_t i = 0; i < text.size();) {
        size_t n = 1;
        while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
        chars.push_back(text.substr(i, n));
        i += n;
    }
    std::vector<std::vector<std::string>> out;
    out.push_back({text});
    out.push_back(chars);
    std::mt19937 rng(static_cast<uint32_t>(text.size()));
    for (int k = 0; k < 3; ++k) {
        std::vector<std::string> pieces;
        for (size_t at = 0; at < chars.size();) {
            const size_t n = std::uniform_int_distribution<size_t>(1, 9)(rng);
            std::string piece;
            for (size_t j = at; j < std::min(at + n, chars.size()); ++j) piece += chars[j];
            pieces.push_back(piece);
            at += n;
        }
        out.push_back(pieces);
    }
    return out;
}

ReplyBlocks::Options hermes(int max_calls = 0) {
    ReplyBlocks::Options o;
    o.syntax = chat::ToolCallSyntax::Hermes;
    o.tool_names = {"get_weather", "f"};
    o.max_calls = max_calls;
    return o;
}

// The stream and content() hold the same blocks (ids included).
void expect_same(const Outcome& r) {
    // Compared without key order (the events are written with sorted keys).
    EXPECT_EQ(nlohmann::json::parse(r.streamed.dump()), nlohmann::json::parse(r.content.dump()))
        << "stream " << r.streamed.dump() << "\ncontent " << r.content.dump();
}

const std::string kCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, "
    "2], \"units\": {\"t\": \"°C\"}}}\n</tool_call>";
const json kInput = json::parse(R"({"city": "Paris", "days": [1, 2], "units": {"t": "°C"}})");

TEST(ReplyBlocks, TextThenACallInAnySplit) {
    for (const auto& pieces : splits("Let me check the weather.\n" + kCall)) {
        SCOPED_TRACE(pieces.size());
        const Outcome r = run(pieces, hermes());
        expect_same(r);
        ASSERT_EQ(r.content.size(), 2u) << r.content.dump();
        EXPECT_EQ(r.content[0]["type"], "text");
        EXPECT_EQ(r.content[0]["text"], "Let me check the weather.");
        EXPECT_EQ(r.content[1]["type"], "tool_use");
        EXPECT_EQ(r.content[1]["name"], "get_weather");
        EXPECT_EQ(r.content[1]["input"], kInput);
        EXPECT_EQ(r.tool_calls, 1);
        // Text arrives as text deltas, arguments as several JSON deltas when split.
        int json_deltas = 0;
        for (const json& e : r.events) {
            if (e["type"] == "content_block_delta" && e["delta"]["type"] == "input_json_delta")
                ++json_deltas;
        }
        if (pieces.size() > 1) {
            EXPECT_GT(json_deltas, 1);
        }
    }
}

TEST(ReplyBlocks, SeveralCallsWithTextBetweenKeepTheirOrder) {
    const std::string second = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
    for (const auto& pieces : splits(kCall + "\nAnd also:\n" + second + "\nDone.")) {
        const Outcome r = run(pieces, hermes());
        expect_same(r);
        ASSERT_EQ(r.content.size(), 4u) << r.content.dump();
        EXPECT_EQ(r.content[0]["type"], "tool_use");
        EXPECT_EQ(r.content[1], (json{{"type", "text"}, {"text", "And also:"}}));
        EXPECT_EQ(r.content[2]["name"], "f");
        EXPECT_EQ(r.content[2]["input"], json::object());
        EXPECT_EQ(r.content[3], (json{{"type", "text"}, {"text", "Done."}}));
        EXPECT_NE(r.content[0]["id"], r.content[2]["id"]);
        EXPECT_EQ(r.tool_calls, 2);
    }
}

TEST(ReplyBlocks, OneCallAllowedDropsTheSecondCallAndWhatFollows) {
    const std::string second =
        "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}}</tool_call>";
    for (const auto& pieces : splits("Hi\n" + kCall + "\n" + second + " bye")) {
        const Outcome r = run(pieces, hermes(1));
        expect_same(r);
        ASSERT_EQ(r.content.size(), 2u) << r.content.dump();
        EXPECT_EQ(r.content[0]["text"], "Hi");
        EXPECT_EQ(r.content[1]["name"], "get_weather");
        EXPECT_EQ(r.tool_calls, 1);
    }
}

TEST(ReplyBlocks, WithoutASyntaxEverythingIsText) {
    const std::string text = "Plain " + kCall + " text, é ✓";
    for (const auto& pieces : splits(text)) {
        ReplyBlocks::Options o;
        o.tool_names = {"get_weather"};
        const Outcome r = run(pieces, o);
        expect_same(r);
        ASSERT_EQ(r.content.size(), 1u);
        EXPECT_EQ(r.content[0], (json{{"type", "text"}, {"text", text}}));
        EXPECT_EQ(r.tool_calls, 0);
    }
}

TEST(ReplyBlocks, TextWithoutCallsIsReturnedExactly) {
    const std::string text = "  No call here <b>bold</b> <tool>x</tool> <tool_cal\n";
    for (const auto& pieces : splits(text)) {
        const Outcome r = run(pieces, hermes());
        expect_same(r);
        ASSERT_EQ(r.content.size(), 1u);
        EXPECT_EQ(r.content[0]["text"], text);
    }
}

TEST(ReplyBlocks, ACallToAnUnknownToolIsText) {
    const std::string text = "<tool_call>{\"name\": \"rm\", \"arguments\": {}}</tool_call>";
    const Outcome r = run({text}, hermes());
    expect_same(r);
    ASSERT_EQ(r.content.size(), 1u);
    EXPECT_EQ(r.content[0]["text"], text);
    EXPECT_EQ(r.tool_calls, 0);
}

TEST(ReplyBlocks, AnEmptyReplyIsOneEmptyTextBlock) {
    for (const auto& options : {hermes(), ReplyBlocks::Options{}}) {
        const Outcome r = run({}, options);
        expect_same(r);
        EXPECT_EQ(r.content, json::array({{{"type", "text"}, {"text", ""}}}));
        ASSERT_EQ(r.events.size(), 2u);
        EXPECT_EQ(r.events[0]["type"], "content_block_start");
        EXPECT_EQ(r.events[1]["type"], "content_block_stop");
        const Outcome empty_piece = run({""}, options);
        EXPECT_EQ(empty_piece.content, r.content);
        EXPECT_EQ(empty_piece.events, r.events);
    }
}

TEST(ReplyBlocks, ACallCutOffClosesItsBlockAndContentKeepsTheRawText) {
    const std::string cut =
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par";
    for (const auto& pieces : splits("Looking.\n" + cut)) {
        const Outcome r = run(pieces, hermes());
        // The stream announced the call: its block is closed as it stands.
        ASSERT_EQ(r.streamed.size(), 2u) << r.streamed.dump();
        EXPECT_EQ(r.streamed[0]["text"], "Looking.");
        EXPECT_EQ(r.streamed[1]["type"], "tool_use");
        EXPECT_EQ(r.streamed[1]["name"], "get_weather");
        EXPECT_EQ(r.streamed[1]["unfinished_json"], "{\"city\": \"Par");
        // content(): the call's raw text instead, as a text block.
        ASSERT_EQ(r.content.size(), 2u) << r.content.dump();
        EXPECT_EQ(r.content[0], (json{{"type", "text"}, {"text", "Looking."}}));
        EXPECT_EQ(r.content[1]["type"], "text");
        EXPECT_EQ(r.content[1]["text"], cut);
        EXPECT_EQ(r.tool_calls, 0);
    }
}

TEST(ReplyBlocks, ACallCutOffByMaxTokensIsNeverText) {
    // The engine's constraint says the reply ended inside a call.
    const std::string announced =
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par";
    for (const auto& pieces : splits("Looking.\n" + announced)) {
        const Outcome r = run(pieces, hermes(), true);
        ASSERT_EQ(r.streamed.size(), 2u) << r.streamed.dump();  // closed as it stands
        EXPECT_EQ(r.streamed[1]["type"], "tool_use");
        ASSERT_EQ(r.content.size(), 1u) << r.content.dump();  // left out of the Message
        EXPECT_EQ(r.content[0], (json{{"type", "text"}, {"text", "Looking."}}));
        EXPECT_TRUE(r.cut_call_started);
    }
    // A whole call, then one cut off: the Message holds the whole one; the
    // stream had started the cut one's block.
    const std::string whole =
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"Rome\"}}\n</tool_call>\n";
    for (const auto& pieces : splits(whole + announced)) {
        const Outcome r = run(pieces, hermes(), true);
        ASSERT_EQ(r.streamed.size(), 2u) << r.streamed.dump();
        ASSERT_EQ(r.content.size(), 1u) << r.content.dump();
        EXPECT_EQ(r.content[0]["input"], (json{{"city", "Rome"}}));
        EXPECT_EQ(r.tool_calls, 1);
        EXPECT_TRUE(r.cut_call_started);
    }
    // The only block was the cut call: the Message still has its one
    // (empty) text block, though the stream showed the call's.
    for (const auto& pieces : splits(announced)) {
        const Outcome r = run(pieces, hermes(), true);
        ASSERT_EQ(r.streamed.size(), 1u) << r.streamed.dump();
        EXPECT_EQ(r.streamed[0]["type"], "tool_use");
        EXPECT_EQ(r.content, json::array({{{"type", "text"}, {"text", ""}}}));
    }
    // Cut before the call was announced: nothing of it is shown; the reply is
    // the one empty text block of a reply of nothing.
    for (const std::string cut : {"<tool_call>\n{\"na", "<tool_c", "<tool_call>"}) {
        for (const auto& pieces : splits(cut)) {
            const Outcome r = run(pieces, hermes(), true);
            EXPECT_EQ(r.content, json::array({{{"type", "text"}, {"text", ""}}})) << cut;
            EXPECT_FALSE(r.cut_call_started) << cut;
        }
    }
}

TEST(ReplyBlocks, TextAfterACutOffCallStartsANewBlock) {
    // A call whose JSON breaks after it was announced, then more text.
    const std::string broken = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1 x}} and more";
    const Outcome r = run({broken}, hermes());
    ASSERT_GE(r.content.size(), 2u) << r.content.dump();
    EXPECT_EQ(r.content[0]["type"], "text");
    EXPECT_EQ(r.content.back()["type"], "text");
    EXPECT_EQ(r.tool_calls, 0);
    std::string all;
    for (const json& b : r.content) all += b["text"].get<std::string>();
    EXPECT_NE(all.find("and more"), std::string::npos) << all;
    EXPECT_EQ(r.streamed.size(), r.content.size());
}

}  // namespace
}  // namespace pensieve::api
