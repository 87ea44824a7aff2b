// The character matcher against schema semantics: documents the schema
// allows (in the canonical layout) are accepted, everything else is rejected
// at the first byte that makes it invalid, and prefixes are live.
#include <gtest/gtest.h>

#include "engine/grammar/matcher.hpp"
#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::grammar {
namespace {

using json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> compile(const char* schema, Layout layout = {}) {
    return std::make_shared<const Grammar>(compile_schema(json::parse(schema), {layout}));
}

// Whether `text` is a complete document of the grammar.
bool accepts(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    Matcher m(g);
    return m.advance(text) && m.accepting();
}

// Whether `text` can be continued into a document.
bool live_prefix(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    Matcher m(g);
    return m.advance(text);
}

TEST(Matcher, RequiredKeysAndAdditionalPropertiesFalse) {
    const auto g = compile(R"({"type": "object", "properties": {"command": {"type": "string"},
        "timeout": {"type": "number"}}, "required": ["command"], "additionalProperties": false})");
    EXPECT_TRUE(accepts(g, R"({"command": "ls -la"})"));
    EXPECT_TRUE(accepts(g, R"({"command": "ls", "timeout": 1.5e3})"));
    EXPECT_FALSE(accepts(g, R"({})"));                             // command is required
    EXPECT_FALSE(accepts(g, R"({"timeout": 3})"));                 // schema order: command first
    EXPECT_FALSE(live_prefix(g, R"({"command": "ls", "other)"));   // no extra keys
    EXPECT_FALSE(live_prefix(g, R"({"command": "a", "command)"));  // no duplicate key
    EXPECT_FALSE(live_prefix(g, R"({"command":"ls"})"));           // canonical spacing only
    EXPECT_FALSE(live_prefix(g, R"({"command": 3)"));
}

TEST(Matcher, AllOfWithTypeObjectNarrowsASchemaToItsObjects) {
    const auto g = compile(
        R"({"allOf": [{"anyOf": [{"type": "object"}, {"type": "integer"}, {"enum": [3, {"k": 1}]}]},
                      {"type": "object"}]})");
    EXPECT_TRUE(accepts(g, R"({})"));
    EXPECT_TRUE(accepts(g, R"({"k": 1})"));
    EXPECT_FALSE(accepts(g, "1"));
    EXPECT_FALSE(live_prefix(g, "["));
    EXPECT_THROW(compile(R"({"allOf": [{"enum": [1, "a"]}, {"type": "object"}]})"), SchemaError);
}

TEST(Matcher, AnyKeyOrderWhenSchemaOrderIsOff) {
    const auto g = compile(R"({"type": "object", "properties": {"a": {"type": "integer"},
        "b": {"type": "integer"}}, "required": ["a", "b"], "additionalProperties": false})",
                           Layout{.schema_order = false});
    EXPECT_TRUE(accepts(g, R"({"b": 1, "a": 2})"));
    EXPECT_TRUE(accepts(g, R"({"a": 1, "b": 2})"));
    EXPECT_FALSE(live_prefix(g, R"({"b": 1, "b)"));
    EXPECT_FALSE(accepts(g, R"({"b": 1})"));
}

TEST(Matcher, ExtraKeysTakeAnyValueAndComeAfterDeclaredOnes) {
    const auto g = compile(R"({"type": "object", "properties": {"a": {"type": "boolean"}}})");
    EXPECT_TRUE(accepts(g, R"({"a": true, "x": {"y": [1, "z", null, {}]}})"));
    EXPECT_TRUE(accepts(g, R"({"x": -0.5})"));  // a is optional
    EXPECT_FALSE(live_prefix(g, R"({"a": 1)"));
    EXPECT_FALSE(live_prefix(g, R"({"\u0061)"));  // extra keys cannot spell a declared key
}

TEST(Matcher, EnumsAndConst) {
    const auto g = compile(R"({"type": "object", "properties": {
        "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
        "v": {"const": {"k": [1, 2]}}}, "required": ["status", "v"], "additionalProperties": false})");
    EXPECT_TRUE(accepts(g, R"({"status": "in_progress", "v": {"k": [1, 2]}})"));
    EXPECT_TRUE(live_prefix(g, R"({"status": "in_prog)"));
    EXPECT_FALSE(live_prefix(g, R"({"status": "done)"));
    EXPECT_FALSE(live_prefix(g, R"({"status": "pending", "v": {"k": [1, 3)"));
    EXPECT_FALSE(live_prefix(g, R"({"status": "pendingx)"));
}

TEST(Matcher, IntegerBoundsAreExact) {
    const auto g = compile(R"({"type": "integer", "minimum": -40, "maximum": 125})");
    for (const char* ok : {"-40", "-1", "0", "7", "99", "125"}) EXPECT_TRUE(accepts(g, ok)) << ok;
    for (const char* bad : {"-41", "126", "1000", "-0", "01", "1.0", "1e2", "-"})
        EXPECT_FALSE(accepts(g, bad)) << bad;
    EXPECT_FALSE(live_prefix(g, "130"));  // no 13x is <= 125
    EXPECT_FALSE(live_prefix(g, "-50"));  // -5x < -40
    EXPECT_TRUE(live_prefix(g, "12"));

    const auto positive = compile(R"({"type": "integer", "exclusiveMinimum": 0})");
    EXPECT_FALSE(live_prefix(positive, "-"));
    EXPECT_FALSE(accepts(positive, "0"));
    EXPECT_TRUE(accepts(positive, "9223372036854775807"));
    EXPECT_FALSE(accepts(positive, "9223372036854775808"));

    const auto big = compile(R"({"type": "integer", "minimum": 100, "maximum": 200})");
    EXPECT_TRUE(live_prefix(big, "1"));
    EXPECT_FALSE(accepts(big, "1"));
    EXPECT_FALSE(live_prefix(big, "3"));
}

TEST(Matcher, NumbersFollowTheJsonGrammar) {
    const auto g = compile(R"({"type": "number"})");
    for (const char* ok : {"0", "-0", "3.25", "1e5", "-2.5E-3", "10"})
        EXPECT_TRUE(accepts(g, ok)) << ok;
    for (const char* bad : {"01", ".5", "1.", "1e", "+1", "--1", "1e1234"})
        EXPECT_FALSE(accepts(g, bad)) << bad;
}

TEST(Matcher, StringsLengthEscapesAndUtf8) {
    const auto g = compile(R"({"type": "string", "minLength": 2, "maxLength": 4})");
    EXPECT_TRUE(accepts(g, R"("ab")"));
    EXPECT_TRUE(accepts(g, "\"h\xC3\xA9\\n\""));  // é and an escape are one code point each
    EXPECT_FALSE(accepts(g, R"("a")"));
    EXPECT_FALSE(accepts(g, R"("abcde")"));
    EXPECT_FALSE(live_prefix(g, "\"\xC3\x28"));      // broken UTF-8
    EXPECT_FALSE(live_prefix(g, "\"\xED\xA0\x80"));  // UTF-8 surrogate
    EXPECT_FALSE(live_prefix(g, "\"a\nb"));          // raw control byte
    EXPECT_FALSE(live_prefix(g, R"("\x)"));
    EXPECT_FALSE(live_prefix(g, R"("\uD83D)"));  // no surrogate escapes
    EXPECT_TRUE(accepts(g, R"("\u00e9z")"));
}

TEST(Matcher, SimplePatterns) {
    const auto prefix = compile(R"({"type": "string", "pattern": "^toolu_"})");
    EXPECT_TRUE(accepts(prefix, R"("toolu_01abc")"));
    EXPECT_FALSE(live_prefix(prefix, R"("tool_)"));
    EXPECT_FALSE(accepts(prefix, R"("tool")"));
    const auto cls = compile(R"({"type": "string", "pattern": "^v[0-9]{1,3}$"})");
    EXPECT_TRUE(accepts(cls, R"("v1")"));
    EXPECT_TRUE(accepts(cls, R"("v123")"));
    EXPECT_FALSE(accepts(cls, R"("v")"));
    EXPECT_FALSE(live_prefix(cls, R"("v1234)"));
    EXPECT_FALSE(live_prefix(cls, R"("va)"));
}

TEST(Matcher, PatternRepeatCountsPastUint32SaturateInsteadOfWrapping) {
    // {4294967299} wrapped to 3 and {4294967296} to 0: now no generation can
    // reach the minimum, and an upper bound that large is no bound.
    const auto huge_min = compile(R"({"type": "string", "pattern": "^[a-z]{4294967299}$"})");
    EXPECT_TRUE(live_prefix(huge_min, R"("hug)"));
    EXPECT_FALSE(accepts(huge_min, R"("hug")"));
    EXPECT_FALSE(accepts(huge_min, R"("")"));
    const auto prefixed = compile(R"({"type": "string", "pattern": "^ab[a-z]{4294967295}$"})");
    EXPECT_FALSE(live_prefix(prefixed, R"("a")"));
    EXPECT_FALSE(live_prefix(prefixed, R"("b)"));
    EXPECT_TRUE(live_prefix(prefixed, R"("abzz)"));
    const auto huge_max = compile(R"({"type": "string", "pattern": "^[a-z]{2,4294967296}$"})");
    EXPECT_TRUE(accepts(huge_max, R"("abcdefgh")"));
    EXPECT_FALSE(accepts(huge_max, R"("a")"));
    // A count that is not digits is no count: the class is not enforced.
    const auto odd = compile(R"({"type": "string", "pattern": "^x[a-z]{-1}$"})");
    EXPECT_TRUE(accepts(odd, R"("x1")"));
    EXPECT_FALSE(accepts(odd, R"("y")"));
}

TEST(Matcher, ArraysOfObjectsWithItemBounds) {
    const auto g = compile(
        R"({"type": "object", "properties": {"todos": {"type": "array", "minItems": 1, "maxItems": 2,
        "items": {"type": "object", "properties": {"content": {"type": "string"},
        "status": {"enum": ["pending", "completed"]}}, "required": ["content", "status"], "additionalProperties": false}}},
        "required": ["todos"], "additionalProperties": false})");
    EXPECT_TRUE(accepts(g, R"({"todos": [{"content": "a", "status": "pending"}]})"));
    EXPECT_TRUE(accepts(
        g,
        R"({"todos": [{"content": "a", "status": "pending"}, {"content": "b", "status": "completed"}]})"));
    EXPECT_FALSE(accepts(g, R"({"todos": []})"));
    EXPECT_FALSE(live_prefix(g, R"({"todos": [{"content": "a"})"));
    EXPECT_FALSE(live_prefix(
        g,
        R"({"todos": [{"content": "a", "status": "pending"}, {"content": "b", "status": "completed"},)"));
}

TEST(Matcher, AnyOfTypeArraysAndRecursiveRefs) {
    const auto g = compile(R"({"$defs": {"node": {"type": "object", "properties": {"v": {"anyOf": [
        {"type": "integer", "minimum": 10, "maximum": 99}, {"type": "string", "maxLength": 1}, {"type": "null"}]},
        "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"], "additionalProperties": false}},
        "$ref": "#/$defs/node"})");
    EXPECT_TRUE(accepts(g, R"({"v": 42})"));
    EXPECT_TRUE(accepts(g, R"({"v": "x", "kids": [{"v": null}, {"v": 10, "kids": []}]})"));
    EXPECT_FALSE(accepts(g, R"({"v": 9})"));
    EXPECT_FALSE(accepts(g, R"({"v": "xy"})"));
    EXPECT_FALSE(accepts(g, R"({"v": true})"));

    const auto nullable = compile(R"({"type": ["string", "null"]})");
    EXPECT_TRUE(accepts(nullable, "null"));
    EXPECT_TRUE(accepts(nullable, R"("s")"));
    EXPECT_FALSE(accepts(nullable, "0"));
}

TEST(Matcher, AnyOfObjectsKeepEveryBranchUntilTheKeysDecide) {
    const auto g = compile(R"({"anyOf": [
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false},
        {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"], "additionalProperties": false}]})");
    EXPECT_TRUE(accepts(g, R"({"a": 1})"));
    EXPECT_TRUE(accepts(g, R"({"b": "x"})"));
    EXPECT_FALSE(live_prefix(g, R"({"a": "x)"));
    EXPECT_FALSE(live_prefix(g, R"({"c)"));
}

TEST(Matcher, NestingIsBoundedSoDeepInputIsRejectedNotACrash) {
    const auto g = std::make_shared<const Grammar>(any_json_object());
    std::string deep = "{\"k\": ";
    for (int i = 0; i < 100; ++i) deep += "[";
    EXPECT_FALSE(live_prefix(g, deep));
    EXPECT_TRUE(accepts(g, R"({"k": [[[[1]]]], "s": "t"})"));
    EXPECT_FALSE(accepts(g, "[]"));  // json mode: an object
}

TEST(Matcher, NothingFollowsACompleteDocument) {
    const auto g = std::make_shared<const Grammar>(any_json_object());
    Matcher m(g);
    ASSERT_TRUE(m.advance("{}"));
    EXPECT_TRUE(m.finished());
    EXPECT_FALSE(m.advance(" "));
    EXPECT_FALSE(m.advance("{"));
}

}  // namespace
}  // namespace pensieve::grammar
