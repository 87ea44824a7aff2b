// The incremental tool-call parser: every syntax fed whole, byte by byte and in seeded
// random splits must give the same events; malformed calls come back as text; argument
// deltas concatenate to the input's JSON text.
#include <gtest/gtest.h>

#include <cctype>

#include <random>
#include <string>
#include <vector>

#include "chat/tools/json_scanner.hpp"
#include "chat/tools/tool_call_parser.hpp"
#include "render_helper.hpp"

namespace pensieve::chat {
namespace {

using testing::has_shape;

using nlohmann::ordered_json;
using Kind = ToolCallEvent::Kind;

ToolCallParserOptions counting_ids(ToolCallParserOptions o = {}) {
    auto n = std::make_shared<int>(0);
    o.make_id = [n] { return "toolu_test" + std::to_string((*n)++); };
    return o;
}

// Adjacent Text events and adjacent deltas of one call are merged: how the input was
// split must not matter beyond that.
std::vector<ToolCallEvent> normalized(const std::vector<ToolCallEvent>& events) {
    std::vector<ToolCallEvent> out;
    for (const ToolCallEvent& e : events) {
        if (!out.empty() && out.back().kind == e.kind &&
            (e.kind == Kind::Text || (e.kind == Kind::ArgumentsDelta && out.back().id == e.id))) {
            out.back().text += e.text;
            continue;
        }
        out.push_back(e);
    }
    return out;
}

std::vector<ToolCallEvent> run(ToolCallSyntax syntax, const std::vector<std::string>& pieces,
                               ToolCallParserOptions options = {}) {
    ToolCallParser p(syntax, counting_ids(std::move(options)));
    std::vector<ToolCallEvent> all;
    for (const std::string& piece : pieces) {
        for (auto& e : p.feed(piece)) all.push_back(std::move(e));
    }
    for (auto& e : p.finish()) all.push_back(std::move(e));
    return all;
}

std::vector<std::string> bytes_of(const std::string& s) {
    std::vector<std::string> out;
    for (char c : s) out.emplace_back(1, c);
    return out;
}

std::vector<std::string> random_split(const std::string& s, std::mt19937& rng) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 9)(rng);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

// Parses `text` whole, byte by byte and in 50 random splits; all must agree (after
// normalizing), and the call events must keep their promises. Returns the events.
std::vector<ToolCallEvent> parse_all_ways(ToolCallSyntax syntax, const std::string& text,
                                          ToolCallParserOptions options = {}) {
    const auto whole = normalized(run(syntax, {text}, options));
    EXPECT_EQ(normalized(run(syntax, bytes_of(text), options)).size(), whole.size());
    std::mt19937 rng(1234);
    std::vector<std::vector<std::string>> splits = {bytes_of(text)};
    for (int i = 0; i < 50; ++i) splits.push_back(random_split(text, rng));
    for (const auto& split : splits) {
        const auto got = normalized(run(syntax, split, options));
        EXPECT_EQ(got.size(), whole.size()) << text;
        for (std::size_t i = 0; i < std::min(got.size(), whole.size()); ++i) {
            EXPECT_EQ(got[i].kind, whole[i].kind) << text << " event " << i;
            EXPECT_EQ(got[i].text, whole[i].text) << text << " event " << i;
            EXPECT_EQ(got[i].name, whole[i].name);
            EXPECT_EQ(got[i].input, whole[i].input);
        }
    }
    // Deltas of each call concatenate to JSON that parses to the call's input; every
    // prefix passes the JSON scanner.
    std::string args;
    for (const ToolCallEvent& e : run(syntax, bytes_of(text), options)) {
        if (e.kind == Kind::CallStart) {
            args.clear();
            EXPECT_TRUE(has_shape(e.id, "toolu_test", 0));
        } else if (e.kind == Kind::ArgumentsDelta) {
            args += e.text;
            JsonScanner scan;
            for (char c : args) EXPECT_NE(scan.feed(c), JsonScanner::Step::Error) << args;
        } else if (e.kind == Kind::CallEnd) {
            EXPECT_EQ(ordered_json::parse(args), e.input) << args;
        }
    }
    return whole;
}

std::string text_of(const std::vector<ToolCallEvent>& events) {
    std::string out;
    for (const auto& e : events) {
        if (e.kind == Kind::Text) out += e.text;
    }
    return out;
}

int count(const std::vector<ToolCallEvent>& events, Kind kind) {
    int n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
}

void expect_call(const ToolCallEvent& start, const ToolCallEvent& delta, const ToolCallEvent& end,
                 const std::string& name, const std::string& args_text, int index) {
    EXPECT_EQ(start.kind, Kind::CallStart);
    EXPECT_EQ(start.name, name);
    EXPECT_EQ(start.index, index);
    EXPECT_EQ(delta.kind, Kind::ArgumentsDelta);
    EXPECT_EQ(delta.text, args_text);
    EXPECT_EQ(end.kind, Kind::CallEnd);
    EXPECT_EQ(end.name, name);
    EXPECT_EQ(end.index, index);
    EXPECT_EQ(end.input, ordered_json::parse(args_text));
    EXPECT_EQ(start.id, end.id);
}

TEST(ToolCallParser, HermesCallWithTextBeforeAndAfter) {
    const auto ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"Zürich\", \"days\": 2}}\n</tool_call>\nDone.");
    ASSERT_EQ(ev.size(), 5u);
    EXPECT_EQ(ev[0].kind, Kind::Text);
    EXPECT_EQ(ev[0].text, "Let me check.");
    expect_call(ev[1], ev[2], ev[3], "get_weather", "{\"city\": \"Zürich\", \"days\": 2}", 0);
    EXPECT_EQ(ev[4].text, "Done.");
}

TEST(ToolCallParser, HermesSeveralCalls) {
    const auto ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
        "<tool_call>\n{\"name\": \"b\", \"arguments\": {\"n\": -1.5e3, \"ok\": true, \"z\": "
        "null, \"l\": [1, [2, {\"k\": \"v\\\"\\u00e9\"}]]}}\n</tool_call>");
    ASSERT_EQ(ev.size(), 6u);
    expect_call(ev[0], ev[1], ev[2], "a", "{}", 0);
    expect_call(ev[3], ev[4], ev[5], "b",
                "{\"n\": -1.5e3, \"ok\": true, \"z\": null, \"l\": [1, [2, {\"k\": "
                "\"v\\\"\\u00e9\"}]]}",
                1);
    EXPECT_NE(ev[0].id, ev[3].id);
}

TEST(ToolCallParser, PlainTextIsReturnedExactly) {
    for (const std::string text :
         {"", "Hello, world!", "a < b and <tool not a call <tool_cal", "  spaced  \n\n",
          "<tool_call", "x <tool_call>", "{\"name\": \"f\", \"arguments\": {}}",
          "emoji 🤖 and </tool_call> stray"}) {
        const auto ev = parse_all_ways(ToolCallSyntax::Hermes, text);
        EXPECT_EQ(text_of(ev), text);
        EXPECT_EQ(count(ev, Kind::CallStart), 0) << text;
    }
}

TEST(ToolCallParser, MalformedCallsComeBackAsText) {
    for (const std::string text : {
             "<tool_call>not json</tool_call> ok",
             "<tool_call>{\"nam\": \"f\", \"arguments\": {}}</tool_call>",
             "<tool_call>{\"name\": 5, \"arguments\": {}}</tool_call>",
             "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>",
             "<tool_call>{\"name\": \"f\", \"arguments\": \"not an object\"}</tool_call>",
             "<tool_call>{}</tool_call>",
             "<tool_call>{\"name\": \"f\"",
             "<tool_call>{\"arguments\": {\"a\": 1}",
             "before <tool_call>\n{\"name\": \"f\" x",
         }) {
        const auto ev = parse_all_ways(ToolCallSyntax::Hermes, text);
        EXPECT_EQ(count(ev, Kind::CallStart), 0) << text;
        EXPECT_EQ(text_of(ev), text);
    }
}

TEST(ToolCallParser, UnknownToolIsText) {
    ToolCallParserOptions o;
    o.known_tools = {"Read"};
    const std::string text = "<tool_call>{\"name\": \"Write\", \"arguments\": {}}</tool_call>";
    const auto ev = parse_all_ways(ToolCallSyntax::Hermes, text, o);
    EXPECT_EQ(text_of(ev), text);
    const auto ok =
        parse_all_ways(ToolCallSyntax::Hermes,
                       "<tool_call>{\"name\": \"Read\", \"arguments\": {}}</tool_call>", o);
    EXPECT_EQ(count(ok, Kind::CallEnd), 1);
}

TEST(ToolCallParser, OpenerInsideFailedCallIsStillFound) {
    const auto ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "<tool_call>oops <tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}}</tool_call>");
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].text, "<tool_call>oops");
    expect_call(ev[1], ev[2], ev[3], "f", "{\"x\": 1}", 0);
}

TEST(ToolCallParser, KeysInAnyOrderAndStringArguments) {
    auto ev = parse_all_ways(ToolCallSyntax::Hermes,
                             "<tool_call>{\"arguments\": {\"x\": 1}, \"name\": \"f\"}</tool_call>");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"x\": 1}", 0);
    ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": [1]}\"}</tool_call>");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"x\":[1]}", 0);
    ev = parse_all_ways(ToolCallSyntax::Hermes, "<tool_call>{\"name\": \"f\"}</tool_call>");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{}", 0);
}

TEST(ToolCallParser, CallBrokenAfterItStartedFails) {
    const std::string text = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1";
    auto ev = parse_all_ways(ToolCallSyntax::Hermes, text);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].kind, Kind::CallStart);
    EXPECT_EQ(ev[1].text, "{\"a\": 1");
    EXPECT_EQ(ev[2].kind, Kind::CallFailed);
    EXPECT_EQ(ev[2].text, text);
    ev = parse_all_ways(ToolCallSyntax::Hermes,
                        "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1 x}} tail");
    EXPECT_EQ(count(ev, Kind::CallFailed), 1);
    EXPECT_EQ(count(ev, Kind::CallEnd), 0);
    EXPECT_EQ(text_of(ev), "x}} tail");

    // Without streaming, nothing is announced before the call is complete: text.
    ToolCallParserOptions o;
    o.stream_arguments = false;
    ev = parse_all_ways(ToolCallSyntax::Hermes, text, o);
    EXPECT_EQ(count(ev, Kind::CallStart), 0);
    EXPECT_EQ(text_of(ev), text);
    ev = parse_all_ways(ToolCallSyntax::Hermes,
                        "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>", o);
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"a\": 1}", 0);
}

TEST(ToolCallParser, ExtraClosingBraceBeforeCloserIsIgnored) {
    const auto ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}}\n</tool_call>\nok");
    ASSERT_EQ(ev.size(), 4u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"a\": 1}", 0);
    EXPECT_EQ(ev[3].text, "ok");
}

TEST(ToolCallParser, MissingFinalBraceIsForgiven) {
    auto ev = parse_all_ways(
        ToolCallSyntax::Hermes,
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>\nok");
    ASSERT_EQ(ev.size(), 4u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"a\": 1}", 0);
    EXPECT_EQ(ev[3].text, "ok");
    ev = parse_all_ways(ToolCallSyntax::Llama, "{\"name\": \"f\", \"parameters\": {\"a\": 1}");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{\"a\": 1}", 0);
}

TEST(ToolCallParser, CallWithoutCloserAtEndIsAccepted) {
    const auto ev = parse_all_ways(ToolCallSyntax::Hermes,
                                   "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "f", "{}", 0);
}

TEST(ToolCallParser, OversizedCallIsText) {
    ToolCallParserOptions o;
    o.max_call_bytes = 32;
    const std::string text =
        "<tool_call>{\"name\": \"a_rather_long_tool_name_here\", \"arguments\": {}}</tool_call>";
    const auto ev = parse_all_ways(ToolCallSyntax::Hermes, text, o);
    EXPECT_EQ(count(ev, Kind::CallStart), 0);
    EXPECT_EQ(text_of(ev), text);
}

TEST(ToolCallParser, LlamaWholeReplyAndPythonTag) {
    auto ev = parse_all_ways(ToolCallSyntax::Llama,
                             "  {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}");
    ASSERT_EQ(ev.size(), 3u);
    expect_call(ev[0], ev[1], ev[2], "get_weather", "{\"city\": \"Oslo\"}", 0);
    ev = parse_all_ways(ToolCallSyntax::Llama,
                        "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", "
                        "\"parameters\": {\"q\": \"x\"}}");
    ASSERT_EQ(ev.size(), 6u);
    expect_call(ev[0], ev[1], ev[2], "a", "{}", 0);
    expect_call(ev[3], ev[4], ev[5], "b", "{\"q\": \"x\"}", 1);
    ev = parse_all_ways(ToolCallSyntax::Llama,
                        "Sure. <|python_tag|>{\"name\": \"a\", \"parameters\": {\"k\": 1}}");
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].text, "Sure.");
    expect_call(ev[1], ev[2], ev[3], "a", "{\"k\": 1}", 0);
}

TEST(ToolCallParser, LlamaJsonThatIsNotACallIsText) {
    for (const std::string text : {"{\"result\": 42}", "{\"name\": \"x\"", "{not json} at all",
                                   "Here: {\"name\": \"f\", \"parameters\": {}}"}) {
        const auto ev = parse_all_ways(ToolCallSyntax::Llama, text);
        EXPECT_EQ(count(ev, Kind::CallStart), 0) << text;
        EXPECT_EQ(text_of(ev), text);
    }
}

TEST(ToolCallParser, MistralArrayOfCalls) {
    auto ev =
        parse_all_ways(ToolCallSyntax::Mistral,
                       "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": "
                       "\"b\", \"arguments\": {}, \"id\": \"abc123def\"}]");
    ASSERT_EQ(ev.size(), 6u);
    expect_call(ev[0], ev[1], ev[2], "a", "{\"x\": 1}", 0);
    expect_call(ev[3], ev[4], ev[5], "b", "{}", 1);
    ev = parse_all_ways(ToolCallSyntax::Mistral,
                        "Calling.[TOOL_CALLS] {\"name\": \"a\", \"arguments\": {}}");
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].text, "Calling.");
    expect_call(ev[1], ev[2], ev[3], "a", "{}", 0);
    for (const std::string text : {"[TOOL_CALLS] hello", "[TOOL_CALLS][]", "[TOOL_CALLS"}) {
        ev = parse_all_ways(ToolCallSyntax::Mistral, text);
        EXPECT_EQ(count(ev, Kind::CallStart), 0) << text;
        EXPECT_EQ(text_of(ev), text);
    }
}

TEST(ToolCallParser, TextIsNotHeldBackNeedlessly) {
    ToolCallParser p(ToolCallSyntax::Hermes);
    auto ev = p.feed("Hello there <tool");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].text, "Hello there");  // " <tool" may begin a call
    ev = p.feed("box> ok");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].text, " <toolbox> ok");
    // A call is announced as soon as its arguments begin.
    ev = p.feed("<tool_call>{\"name\": \"f\", \"arguments\": {\"path\": \"/a");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, Kind::CallStart);
    EXPECT_EQ(ev[1].text, "{\"path\": \"/a");
    ev = p.feed("b\"}}");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].text, "b\"}");
    EXPECT_EQ(ev[1].kind, Kind::CallEnd);
    EXPECT_EQ(p.calls_completed(), 1);
    EXPECT_TRUE(p.finish().empty());
}

TEST(ToolCallParser, LongWhitespaceRunsAreNotHeldWhole) {
    ToolCallParser p(ToolCallSyntax::Hermes);
    const std::string spaces(100000, ' ');
    auto ev = p.feed("a" + spaces);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_GE(ev[0].text.size(), spaces.size() - 64);  // only a bounded tail is held
    ev = p.feed("b");
    ASSERT_EQ(ev.size(), 1u);
    const std::string all = "a" + spaces + "b";
    std::string text;
    ToolCallParser q(ToolCallSyntax::Hermes);
    for (const char c : all) {
        for (const auto& e : q.feed(std::string(1, c))) text += e.text;
    }
    for (const auto& e : q.finish()) text += e.text;
    EXPECT_EQ(text, all);
}

TEST(ToolCallParser, RandomIdsHaveAnthropicShape) {
    const std::string a = random_tool_use_id();
    const std::string b = random_tool_use_id();
    EXPECT_TRUE(has_shape(a, "toolu_", 24)) << a;
    EXPECT_NE(a, b);
    ToolCallParser p(ToolCallSyntax::Hermes);
    const auto ev = p.feed("<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>");
    ASSERT_FALSE(ev.empty());
    EXPECT_TRUE(has_shape(ev[0].id, "toolu_", 24)) << ev[0].id;
}

// Seeded random soups of call fragments, in every syntax: split-invariant, never more
// text than was fed, and exactly the input when no call was announced.
TEST(ToolCallParser, RandomFragmentSoups) {
    const std::vector<std::string> fragments = {"<tool_call>",
                                                "</tool_call>",
                                                "[TOOL_CALLS]",
                                                "<|python_tag|>",
                                                "{",
                                                "}",
                                                "[",
                                                "]",
                                                "\"name\"",
                                                "\"arguments\"",
                                                "\"parameters\"",
                                                "\"f\"",
                                                ":",
                                                ",",
                                                ";",
                                                " ",
                                                "\n",
                                                "1",
                                                "x",
                                                "\"",
                                                "\\",
                                                "<tool",
                                                "é"};
    std::mt19937 rng(7);
    for (const ToolCallSyntax syntax :
         {ToolCallSyntax::Hermes, ToolCallSyntax::Llama, ToolCallSyntax::Mistral}) {
        for (int round = 0; round < 300; ++round) {
            std::string text;
            const int n = std::uniform_int_distribution<int>(0, 40)(rng);
            for (int i = 0; i < n; ++i) {
                text += fragments[std::uniform_int_distribution<std::size_t>(
                    0, fragments.size() - 1)(rng)];
            }
            const auto ev = parse_all_ways(syntax, text);
            if (count(ev, Kind::CallStart) == 0) {
                EXPECT_EQ(text_of(ev), text);
            } else {
                EXPECT_LE(text_of(ev).size(), text.size());
            }
        }
    }
}

TEST(JsonScanner, AcceptsJsonAndRejectsTheRest) {
    const auto check = [](const std::string& s) {
        JsonScanner scan;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto st = scan.feed(s[i]);
            if (st == JsonScanner::Step::Error) return false;
            if (st == JsonScanner::Step::Done) return i + 1 == s.size();
            if (st == JsonScanner::Step::DoneBefore) return false;
        }
        return scan.complete_at_end();
    };
    for (const std::string ok : {"{}", "[]", "0", "-0.5e+10", "\"a\\u00e9\\n\"", "true", "null",
                                 " {\"a\": [1, 2.5, {\"b\": false}], \"c\": \"\"}", "[[[]]]"}) {
        EXPECT_TRUE(check(ok)) << ok;
    }
    for (const std::string bad : {"{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "tru",
                                  "{\"a\": 1,}", "[1 2]", "\"a\nb\"", "{1: 2}", "nul l"}) {
        EXPECT_FALSE(check(bad)) << bad;
    }
    JsonScanner shallow(2);
    EXPECT_NE(shallow.feed('['), JsonScanner::Step::Error);
    EXPECT_NE(shallow.feed('['), JsonScanner::Step::Error);
    EXPECT_EQ(shallow.feed('['), JsonScanner::Step::Error);
}

}  // namespace
}  // namespace pensieve::chat
