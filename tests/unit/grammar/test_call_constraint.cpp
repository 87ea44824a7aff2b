// CallConstraint: free text, a call opener forced or spotted, one JSON
// document under the call's grammar, a closer, then another call or the end.
// Masks are checked against brute force (each token's bytes fed to a fresh
// matcher) on a small hand-made vocabulary, where every split of the framing
// can be named, and random walks over SmolLM2's real vocabulary must end in
// framed calls whose JSON parses and validates against the schema.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "../test_models.hpp"
#include "engine/grammar/call_constraint.hpp"
#include "engine/grammar/schema_compiler.hpp"
#include "validator.hpp"
#include "walk_helpers.hpp"

namespace pensieve::grammar {
namespace {

using json = nlohmann::ordered_json;
using Phase = CallConstraint::Phase;

std::vector<size_t> ids_of(const std::vector<uint64_t>& mask) {
    std::vector<size_t> out;
    for (size_t id = 0; id < mask.size() * 64; ++id) {
        if (has(mask, id)) out.push_back(id);
    }
    return out;
}

// The definition: every token whose bytes are a non-empty prefix of target.
std::vector<uint64_t> brute_force_prefixes(const TokenVocabulary& v, std::string_view target) {
    std::vector<uint64_t> out(v.words(), 0);
    for (size_t id = 0; id < v.size(); ++id) {
        const auto tid = static_cast<TokenId>(id);
        const std::string& b = v.bytes(tid);
        if (v.is_eog(tid) || b.empty()) continue;
        if (target.starts_with(b)) out[id >> 6] |= uint64_t{1} << (id & 63);
    }
    return out;
}

// A small vocabulary: end of generation (id 0), a control token (id 1, no
// bytes), every printable ASCII byte and "\n" alone, then multi-byte pieces
// that split the framing in different places. Over 64 ids, so masks span
// two words.
const std::vector<std::string> kPieces = {"<tool",
                                          "_call>",
                                          "<tool_call>",
                                          "</tool_call>",
                                          "\n</tool_call>",
                                          "\n<tool_call>",
                                          "<tool_call>\n",
                                          ">{\"",
                                          "{\"",
                                          "\"name\"",
                                          ": ",
                                          ", ",
                                          "}}",
                                          "ool_c",
                                          "<to",
                                          "</",
                                          "tool",
                                          "call>",
                                          "al",
                                          "ll>",
                                          "\n\n",
                                          "<tool_call>x",
                                          "<tool_call>{\"name\": \"f\"",
                                          "\"}}",
                                          "arguments",
                                          "name",
                                          "{\"name\": \"f\", \"arguments\": {}}"};

std::shared_ptr<const TokenVocabulary> small_vocab() {
    static const auto v = [] {
        std::vector<std::string> bytes = {"", ""};
        bytes.push_back("\n");
        for (char c = 0x20; c < 0x7f; ++c) bytes.emplace_back(1, c);
        for (const std::string& p : kPieces) bytes.push_back(p);
        return std::make_shared<const TokenVocabulary>(std::move(bytes), std::vector<TokenId>{0});
    }();
    return v;
}

constexpr TokenId kEog = 0;

TokenId tok(const std::string& bytes) {
    const TokenVocabulary& v = *small_vocab();
    for (size_t id = 0; id < v.size(); ++id) {
        if (!v.is_eog(static_cast<TokenId>(id)) && v.bytes(static_cast<TokenId>(id)) == bytes)
            return static_cast<TokenId>(id);
    }
    throw std::runtime_error("no token \"" + bytes + "\" in the test vocabulary");
}

// {"name": "f", "arguments": {"n": 0..99, "s": "a" | "b"}}, "s" optional.
json call_schema() {
    return json::parse(R"({
        "type": "object",
        "properties": {
            "name": {"const": "f"},
            "arguments": {
                "type": "object",
                "properties": {
                    "n": {"type": "integer", "minimum": 0, "maximum": 99},
                    "s": {"enum": ["a", "b"]}
                },
                "required": ["n"],
                "additionalProperties": false
            }
        },
        "required": ["name", "arguments"],
        "additionalProperties": false
    })");
}

std::shared_ptr<const GrammarMasks> masks_for(const json& schema,
                                              std::shared_ptr<const TokenVocabulary> v) {
    return std::make_shared<const GrammarMasks>(
        std::make_shared<const Grammar>(compile_schema(schema)), std::move(v));
}

const CallFraming kHermes{"<tool_call>", "</tool_call>", false, 0};

// The mask after the calls so far, or nullopt when the constraint lets
// anything through.
std::optional<std::vector<uint64_t>> mask_of(CallConstraint& c) {
    std::vector<uint64_t> m(c.mask_words(), 0xA5A5A5A5A5A5A5A5ull);
    if (!c.fill_mask(m)) return std::nullopt;
    return m;
}

// Only end of generation.
std::vector<uint64_t> only_eog(const TokenVocabulary& v) {
    std::vector<uint64_t> out(v.words(), 0);
    for (TokenId id : v.eog()) out[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
    return out;
}

// Accepts a piece that must not be in the mask (a model that ignores it).
void force(CallConstraint& c, const std::string& piece) {
    const auto m = mask_of(c);
    ASSERT_TRUE(m.has_value());
    ASSERT_FALSE(has(*m, static_cast<size_t>(tok(piece)))) << "\"" << piece << "\" allowed";
    c.accept(tok(piece));
}

// Feeds `pieces` (token bytes of the small vocabulary), each after checking
// it is in the mask when the constraint gives one.
void feed(CallConstraint& c, const std::vector<std::string>& pieces) {
    for (const std::string& p : pieces) {
        const auto m = mask_of(c);
        if (m) {
            ASSERT_TRUE(has(*m, static_cast<size_t>(tok(p)))) << "\"" << p << "\" masked out";
        }
        c.accept(tok(p));
    }
}

TEST(CallConstraint, PrefixTokensEqualTheBruteForceScan) {
    const auto v = small_vocab();
    const std::string longer = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call> more";
    for (const std::string& target :
         {std::string("<tool_call>"), std::string("\n</tool_call>"), std::string("<"),
          std::string("\n"), std::string("zzz"), std::string("ool_call>"), longer, std::string()}) {
        std::vector<uint64_t> out(v->words(), 0);
        mark_prefix_tokens(v->trie(), target, out);
        EXPECT_EQ(out, brute_force_prefixes(*v, target)) << "target \"" << target << "\"";
    }
    // The longest target's prefixes include a token of 38 bytes and a single byte.
    std::vector<uint64_t> out(v->words(), 0);
    mark_prefix_tokens(v->trie(), longer, out);
    EXPECT_TRUE(has(out, static_cast<size_t>(tok("<tool_call>{\"name\": \"f\""))));
    EXPECT_TRUE(has(out, static_cast<size_t>(tok("<"))));
    EXPECT_FALSE(has(out, static_cast<size_t>(tok("<tool_call>x"))));
    EXPECT_FALSE(has(out, static_cast<size_t>(kEog)));
    // Bits already set are kept (the mask is or-ed into).
    std::vector<uint64_t> pre(v->words(), 0);
    pre[0] = 1;
    mark_prefix_tokens(v->trie(), "", pre);
    EXPECT_EQ(pre[0], 1u);
}

TEST(CallConstraint, PrefixTokensOverTheRealVocabularyEqualTheBruteForceScan) {
    const auto path = pensieve::testing::model_path(pensieve::testing::kSmolLm);
    ASSERT_TRUE(std::filesystem::exists(path)) << "model missing: " << path;
    const auto v = TokenVocabulary::from_tokenizer(tokenizer::Tokenizer::from_file(path));
    for (const std::string& target :
         {std::string("<tool_call>"), std::string("\n</tool_call>"), std::string(" the"),
          std::string(300, 'a'), std::string("{\"name\": \"Read\""), std::string()}) {
        std::vector<uint64_t> out(v->words(), 0);
        mark_prefix_tokens(v->trie(), target, out);
        const auto expected = brute_force_prefixes(*v, target);
        EXPECT_EQ(out, expected) << "target \"" << target.substr(0, 20) << "\"";
        if (!target.empty()) {
            EXPECT_FALSE(ids_of(expected).empty()) << target.substr(0, 20);
        }
    }
}

TEST(CallConstraint, FreeTextThenOpenerThenConstrainedJsonThenCloserThenEndOrAnotherCall) {
    const auto v = small_vocab();
    const auto masks = masks_for(call_schema(), v);
    CallConstraint c(masks, kHermes);
    EXPECT_EQ(c.mask_words(), v->words());
    EXPECT_EQ(c.phase(), Phase::Free);
    EXPECT_FALSE(mask_of(c).has_value());
    feed(c, {"H", "i", " ", "<", "b", ">", " "});  // a tag that is not the opener
    EXPECT_EQ(c.phase(), Phase::Free);
    feed(c, {"<to", "o", "l", "_", "c", "a", "ll>"});
    ASSERT_EQ(c.phase(), Phase::Gap);
    EXPECT_EQ(c.calls(), 0);

    // The JSON part: the mask is the grammar's and nothing else, step by step.
    Matcher m(masks->grammar());
    bool newline_free = true;
    auto step = [&](const std::string& piece) {
        const auto mask = mask_of(c);
        ASSERT_TRUE(mask.has_value());
        ASSERT_EQ(*mask, brute_force_mask(m, *v, newline_free)) << "before \"" << piece << "\"";
        ASSERT_TRUE(has(*mask, static_cast<size_t>(tok(piece)))) << piece;
        c.accept(tok(piece));
        if (piece == "\n" && newline_free) {
            newline_free = false;
        } else {
            ASSERT_TRUE(m.advance(piece));
            newline_free = false;
        }
    };
    step("\n");
    EXPECT_EQ(c.phase(), Phase::Gap);
    {
        // A second newline is no longer allowed; neither is a token that is
        // not JSON or a name that is not the tool's.
        const auto mask = *mask_of(c);
        EXPECT_FALSE(has(mask, static_cast<size_t>(tok("\n"))));
        EXPECT_FALSE(has(mask, static_cast<size_t>(tok("\n\n"))));
        EXPECT_FALSE(has(mask, static_cast<size_t>(tok("x"))));
        EXPECT_FALSE(has(mask, static_cast<size_t>(kEog)));
        EXPECT_FALSE(has(mask, 1));  // the control token
    }
    for (const char* piece : {"{\"", "n", "a", "m", "e", "\"", ": ", "\""}) step(piece);
    ASSERT_EQ(c.phase(), Phase::Json);
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(tok("g"))));  // not the tool's name
    for (const char* piece :
         {"f", "\"", ", ", "\"", "arguments", "\"", ": ", "{\"", "n", "\"", ": ", "4", "2"}) {
        step(piece);
    }
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(tok("7"))));  // 427 > maximum 99
    for (const char* piece : {", ", "\"", "s", "\"", ": ", "\""}) step(piece);
    {
        const auto mask = *mask_of(c);
        EXPECT_FALSE(has(mask, static_cast<size_t>(tok("c"))));  // not in the enum
        EXPECT_TRUE(has(mask, static_cast<size_t>(tok("a"))));
    }
    step("b");
    ASSERT_EQ(c.phase(), Phase::Json);
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(tok("}}"))));  // the string is open
    step("\"}}");
    // The document is complete: only the closer, alone or after one newline.
    ASSERT_EQ(c.phase(), Phase::Literal);
    auto mask = *mask_of(c);
    std::vector<uint64_t> closers(v->words(), 0);
    mark_prefix_tokens(v->trie(), "</tool_call>", closers);
    mark_prefix_tokens(v->trie(), "\n</tool_call>", closers);
    EXPECT_EQ(mask, closers);
    EXPECT_FALSE(has(mask, static_cast<size_t>(kEog)));
    feed(c, {"\n", "</", "tool", "_call>"});
    EXPECT_EQ(c.calls(), 1);
    // Then the end, or the opener again (alone or after one newline).
    ASSERT_EQ(c.phase(), Phase::Literal);
    mask = *mask_of(c);
    std::vector<uint64_t> next = only_eog(*v);
    mark_prefix_tokens(v->trie(), "<tool_call>", next);
    mark_prefix_tokens(v->trie(), "\n<tool_call>", next);
    EXPECT_EQ(mask, next);
    EXPECT_FALSE(has(mask, static_cast<size_t>(tok("H"))));
    // A second call opened by one token holding the newline and the opener.
    feed(c, {"\n<tool_call>"});
    EXPECT_EQ(c.phase(), Phase::Gap);
    force(c, "{\"name\": \"f\", \"arguments\": {}}");  // lacks the required "n"
    EXPECT_EQ(c.phase(), Phase::Off);
}

TEST(CallConstraint, AfterACallAPartlyWrittenOpenerMustBeFinished) {
    const auto v = small_vocab();
    CallConstraint c(masks_for(call_schema(), v), kHermes);
    feed(c, {"<tool_call>", "{\"", "name", "\"",  ": ", "\"", "f",  "\"", ", ", "\"",
             "arguments",   "\"",  ": ",   "{\"", "n",  "\"", ": ", "1",  "}}", "</tool_call>"});
    ASSERT_EQ(c.calls(), 1);
    feed(c, {"\n"});  // a newline, then the end, is fine
    EXPECT_TRUE(has(*mask_of(c), static_cast<size_t>(kEog)));
    feed(c, {"<to"});  // "<to" then the end would leave a broken opener as text
    EXPECT_EQ(*mask_of(c), brute_force_prefixes(*v, "ol_call>"));
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(kEog)));
}

TEST(CallConstraint, SecondCallAndTheEndAfterIt) {
    const auto v = small_vocab();
    const auto masks = masks_for(call_schema(), v);
    CallConstraint c(masks, kHermes);
    const std::vector<std::string> call = {
        "<tool_call>", "{\"", "name", "\"",  ": ", "\"", "f",  "\"", ", ", "\"",
        "arguments",   "\"",  ": ",   "{\"", "n",  "\"", ": ", "7",  "}}", "</tool_call>"};
    feed(c, {"O", "k"});
    feed(c, call);
    ASSERT_EQ(c.calls(), 1);
    feed(c, call);  // straight after the closer, no newline
    ASSERT_EQ(c.calls(), 2);
    ASSERT_EQ(c.phase(), Phase::Literal);
    c.accept(kEog);
    EXPECT_EQ(c.phase(), Phase::End);
    EXPECT_EQ(*mask_of(c), only_eog(*v));
}

TEST(CallConstraint, OneCallAllowedEndsTheReplyAfterTheCloser) {
    const auto v = small_vocab();
    CallFraming framing = kHermes;
    framing.max_calls = 1;
    CallConstraint c(masks_for(call_schema(), v), framing);
    feed(c, {"<tool_call>\n"});
    // The whole-document token breaks the schema (no "n"): it is masked out
    // and, accepted anyway, turns the constraint off.
    force(c, "{\"name\": \"f\", \"arguments\": {}}");
    EXPECT_EQ(c.phase(), Phase::Off);
    EXPECT_FALSE(mask_of(c).has_value());

    CallConstraint d(masks_for(call_schema(), v), framing);
    feed(d,
         {"<tool_call>\n", "{\"", "name", "\"",  ": ", "\"", "f",  "\"", ", ", "\"",
          "arguments",     "\"",  ": ",   "{\"", "n",  "\"", ": ", "0",  "}}", "\n</tool_call>"});
    EXPECT_EQ(d.calls(), 1);
    EXPECT_EQ(d.phase(), Phase::End);
    EXPECT_EQ(*mask_of(d), only_eog(*v));
}

TEST(CallConstraint, MustCallAllowsOnlyOpenerPrefixesFirst) {
    const auto v = small_vocab();
    CallFraming framing = kHermes;
    framing.must_call = true;
    CallConstraint c(masks_for(call_schema(), v), framing);
    EXPECT_EQ(c.phase(), Phase::Literal);
    auto mask = mask_of(c);
    ASSERT_TRUE(mask.has_value());
    EXPECT_EQ(*mask, brute_force_prefixes(*v, "<tool_call>"));
    EXPECT_FALSE(has(*mask, static_cast<size_t>(kEog)));
    EXPECT_FALSE(has(*mask, static_cast<size_t>(tok("\n<tool_call>"))));
    feed(c, {"<tool"});
    EXPECT_EQ(*mask_of(c), brute_force_prefixes(*v, "_call>"));
    feed(c, {"_call>"});
    EXPECT_EQ(c.phase(), Phase::Gap);
}

TEST(CallConstraint, StructuredOutputIsJsonFromTheFirstTokenThenTheEnd) {
    const auto v = small_vocab();
    const json schema = json::parse(R"({"type": "object", "properties": {"n": {"type": "integer"}},
                                        "required": ["n"], "additionalProperties": false})");
    const auto masks = masks_for(schema, v);
    CallConstraint c(masks, CallFraming{"", "", true, 1});
    EXPECT_EQ(c.phase(), Phase::Gap);
    Matcher m(masks->grammar());
    // No newline first: the document starts at once.
    EXPECT_EQ(*mask_of(c), brute_force_mask(m, *v, false));
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(tok("\n"))));
    for (const char* piece : {"{\"", "n", "\"", ": ", "1", "2"}) {
        ASSERT_EQ(*mask_of(c), brute_force_mask(m, *v, false)) << piece;
        feed(c, {piece});
        ASSERT_TRUE(m.advance(piece));
    }
    EXPECT_EQ(c.phase(), Phase::Json);
    feed(c, {"}"});
    EXPECT_EQ(c.phase(), Phase::End);
    EXPECT_EQ(c.calls(), 1);
    EXPECT_EQ(*mask_of(c), only_eog(*v));

    // Without must_call and without an opener nothing marks a call: no constraint.
    CallConstraint off(masks, CallFraming{"", "", false, 1});
    EXPECT_EQ(off.phase(), Phase::Off);
    EXPECT_FALSE(mask_of(off).has_value());
}

TEST(CallConstraint, OpenerRunningIntoJsonInOneTokenContinuesInsideTheDocument) {
    const auto v = small_vocab();
    const auto masks = masks_for(call_schema(), v);
    CallConstraint c(masks, kHermes);
    feed(c, {"x", "<tool", "_", "c", "a", "l", "l", ">{\""});
    ASSERT_EQ(c.phase(), Phase::Json);
    Matcher m(masks->grammar());
    ASSERT_TRUE(m.advance("{\""));
    EXPECT_EQ(*mask_of(c), brute_force_mask(m, *v, false));
    EXPECT_TRUE(has(*mask_of(c), static_cast<size_t>(tok("n"))));
    EXPECT_FALSE(has(*mask_of(c), static_cast<size_t>(tok("x"))));

    // The opener and a newline and the document's start in one token.
    CallConstraint d(masks, kHermes);
    feed(d, {"<tool_call>{\"name\": \"f\""});
    ASSERT_EQ(d.phase(), Phase::Json);
    Matcher md(masks->grammar());
    ASSERT_TRUE(md.advance("{\"name\": \"f\""));
    EXPECT_EQ(*mask_of(d), brute_force_mask(md, *v, false));

    // The opener and only the newline: still in the gap, newline used.
    CallConstraint e(masks, kHermes);
    feed(e, {"<tool_call>\n"});
    ASSERT_EQ(e.phase(), Phase::Gap);
    EXPECT_EQ(*mask_of(e), brute_force_mask(Matcher(masks->grammar()), *v, false));
}

TEST(CallConstraint, BytesTheGrammarRejectsAfterTheOpenerTurnTheConstraintOff) {
    const auto v = small_vocab();
    const auto masks = masks_for(call_schema(), v);
    CallConstraint c(masks, kHermes);
    feed(c, {"<tool_call>x"});
    EXPECT_EQ(c.phase(), Phase::Off);
    EXPECT_FALSE(mask_of(c).has_value());
    feed(c, {"<tool_call>"});  // nothing brings it back
    EXPECT_EQ(c.phase(), Phase::Off);

    // Two newlines after the opener: only one is allowed.
    CallConstraint d(masks, kHermes);
    feed(d, {"<to", "o", "l", "_call>"});
    ASSERT_EQ(d.phase(), Phase::Gap);
    force(d, "\n\n");
    EXPECT_EQ(d.phase(), Phase::Off);
}

TEST(CallConstraint, EndOfGenerationInFreeTextEndsTheReply) {
    const auto v = small_vocab();
    CallConstraint c(masks_for(call_schema(), v), kHermes);
    feed(c, {"H", "i"});
    c.accept(kEog);
    EXPECT_EQ(c.phase(), Phase::End);
    EXPECT_EQ(*mask_of(c), only_eog(*v));
    c.accept(-1);  // ids outside the vocabulary are ignored
    c.accept(static_cast<TokenId>(v->size()));
    EXPECT_EQ(c.phase(), Phase::End);
}

// ---- Random walks over the real vocabulary --------------------------------

const tokenizer::Tokenizer& smollm() {
    static const tokenizer::Tokenizer tok = [] {
        const auto path = pensieve::testing::model_path(pensieve::testing::kSmolLm);
        if (!std::filesystem::exists(path)) {
            throw std::runtime_error("model missing: " + path.string());
        }
        return tokenizer::Tokenizer::from_file(path);
    }();
    return tok;
}

// Draws an allowed token, leaning towards structure and the end so that
// documents finish within the step budget.
TokenId draw(const std::vector<uint64_t>& mask, const TokenVocabulary& v, std::mt19937& rng) {
    return leaning_draw(mask, v, rng, "\"]}<>", 0.6, 0.5);
}

// The JSON documents of a reply written with Hermes framing: the text
// between each opener and closer, one optional newline stripped each side.
std::vector<std::string> framed_documents(const std::string& text) {
    std::vector<std::string> docs;
    size_t at = 0;
    while (true) {
        const size_t open = text.find("<tool_call>", at);
        if (open == std::string::npos) break;
        const size_t start = open + std::string("<tool_call>").size();
        const size_t close = text.find("</tool_call>", start);
        if (close == std::string::npos) {
            docs.push_back(text.substr(start));  // unclosed: fails to parse below
            break;
        }
        std::string doc = text.substr(start, close - start);
        if (doc.starts_with('\n')) doc.erase(0, 1);
        if (doc.ends_with('\n')) doc.pop_back();
        docs.push_back(doc);
        at = close + std::string("</tool_call>").size();
    }
    return docs;
}

TEST(CallConstraint, RandomWalksOverTheRealVocabularyEndInValidFramedCalls) {
    const json tools = load("claude_code_tools.json");
    const json schema = any_call_schema(tools);
    const auto vocab = TokenVocabulary::from_tokenizer(smollm());
    const auto masks = masks_for(schema, vocab);
    const testing::Validator validator(nlohmann::json::parse(schema.dump()));
    std::mt19937 rng(20261204);
    std::vector<uint64_t> mask(vocab->words());
    const auto free_text = smollm().encode("Let me look.", tokenizer::Specials::AsText);
    int total_calls = 0;
    for (int walk = 0; walk < 12; ++walk) {
        SCOPED_TRACE("walk " + std::to_string(walk));
        CallFraming framing = kHermes;
        framing.must_call = walk % 2 == 0;
        framing.max_calls = walk % 3 == 0 ? 1 : 0;
        CallConstraint c(masks, framing);
        std::string text;
        if (!framing.must_call) {
            // Free text first, then the model writes the opener on its own.
            for (TokenId id : free_text) {
                ASSERT_FALSE(c.fill_mask(mask));
                c.accept(id);
                text += vocab->bytes(id);
            }
            for (TokenId id : smollm().encode("<tool_call>", tokenizer::Specials::AsText)) {
                c.accept(id);
                text += vocab->bytes(id);
            }
            ASSERT_EQ(c.phase(), Phase::Gap) << text;
        }
        bool ended = false;
        for (int step = 0; step < 4000 && !ended; ++step) {
            ASSERT_TRUE(c.fill_mask(mask)) << "unconstrained after: " << text;
            const TokenId id = draw(mask, *vocab, rng);
            c.accept(id);
            ASSERT_NE(c.phase(), Phase::Off) << "allowed token " << id << " after: " << text;
            if (vocab->is_eog(id))
                ended = true;
            else
                text += vocab->bytes(id);
        }
        ASSERT_TRUE(ended) << "no end within 4000 tokens: " << text;
        const auto docs = framed_documents(text);
        ASSERT_GE(docs.size(), 1u) << text;
        if (framing.max_calls == 1) {
            EXPECT_EQ(docs.size(), 1u) << text;
        }
        EXPECT_EQ(static_cast<size_t>(c.calls()), docs.size()) << text;
        if (framing.must_call) {
            EXPECT_TRUE(text.starts_with("<tool_call>")) << text;
        }
        EXPECT_TRUE(text.ends_with("</tool_call>") || text.ends_with("</tool_call>\n")) << text;
        for (const std::string& doc : docs) {
            nlohmann::json call;
            ASSERT_NO_THROW(call = nlohmann::json::parse(doc)) << doc;
            ASSERT_TRUE(call.is_object()) << doc;
            EXPECT_EQ(call.size(), 2u) << doc;
            ASSERT_TRUE(call.contains("name") && call["name"].is_string()) << doc;
            ASSERT_TRUE(call.contains("arguments") && call["arguments"].is_object()) << doc;
            const json* tool = nullptr;
            for (const json& t : tools) {
                if (t["name"] == call["name"].get<std::string>()) tool = &t;
            }
            ASSERT_NE(tool, nullptr) << doc;
            const json& input_schema = tool->at("input_schema");
            if (input_schema.contains("required")) {
                for (const auto& key : input_schema.at("required")) {
                    EXPECT_TRUE(call["arguments"].contains(key.get<std::string>())) << doc;
                }
            }
            for (const auto& [key, value] : call["arguments"].items()) {
                EXPECT_TRUE(input_schema.at("properties").contains(key)) << doc;
            }
            EXPECT_EQ(validator.check(call), "") << doc;
            ++total_calls;
        }
    }
    EXPECT_GE(total_calls, 12);
}

// Structured output next to callable tools: the first token is the opener's
// or the document's; a call then proceeds as usual, and a document is
// constrained to its own grammar and then ends.
TEST(CallConstraint, TextGrammarBesideCallsIsEitherACallOrTheDocument) {
    const auto v = small_vocab();
    const json document = json::parse(R"({"type": "object", "properties": {"x": {"enum":
        ["a"]}}, "required": ["x"], "additionalProperties": false})");
    const auto call = masks_for(call_schema(), v);
    const auto text = masks_for(document, v);
    ASSERT_TRUE(CallConstraint::text_can_share(kHermes));
    EXPECT_FALSE(CallConstraint::text_can_share({"[TOOL_CALLS]", "", false, 1}));
    {
        CallConstraint c(call, kHermes, text);
        EXPECT_EQ(c.phase(), Phase::Start);
        const auto m = mask_of(c);
        ASSERT_TRUE(m.has_value());
        // Opener prefixes and the document's first bytes, nothing else.
        std::vector<uint64_t> expected = brute_force_prefixes(*v, "<tool_call>");
        const std::vector<uint64_t> doc = brute_force_mask(Matcher(text->grammar()), *v, false);
        for (size_t w = 0; w < expected.size(); ++w) expected[w] |= doc[w];
        EXPECT_EQ(*m, expected);
        feed(c, {"{\"", "x", "\"", ": ", "\"", "a", "\"", "}"});
        EXPECT_EQ(c.phase(), Phase::End);
        EXPECT_EQ(*mask_of(c), only_eog(*v));
        EXPECT_FALSE(c.inside_call());
    }
    {
        CallConstraint c(call, kHermes, text);
        feed(c, {"<to"});
        EXPECT_EQ(c.phase(), Phase::Literal);
        feed(c, {"o", "l", "_", "c", "a", "ll>"});
        EXPECT_EQ(c.phase(), Phase::Gap);  // a call, as without the document grammar
    }
}

TEST(CallConstraint, InsideCallIsTrueOnlyBetweenAnOpenerAndTheEndOfItsCall) {
    const auto v = small_vocab();
    CallConstraint c(masks_for(call_schema(), v), kHermes);
    EXPECT_FALSE(c.inside_call());  // free text
    feed(c, {"h", "i", "<to"});
    EXPECT_FALSE(c.inside_call());  // free text never knows an opener has begun
    feed(c, {"o", "l", "_", "c", "a", "ll>"});
    EXPECT_TRUE(c.inside_call());
    feed(c, {"{\"", "name", "\"", ": ", "\"", "f", "\"", ", ", "\"", "arguments", "\"", ": ", "{\"",
             "n", "\"", ": ", "5"});
    EXPECT_TRUE(c.inside_call());
    feed(c, {"}}"});
    EXPECT_TRUE(c.inside_call());  // the closer is still due
    feed(c, {"</tool_call>"});
    EXPECT_FALSE(c.inside_call());  // between calls
    feed(c, {"<to"});
    EXPECT_TRUE(c.inside_call());  // a second opener begun
}

}  // namespace
}  // namespace pensieve::grammar
