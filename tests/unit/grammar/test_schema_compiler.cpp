// Schema compilation: what compiles, what is relaxed (and reported), and
// which invalid schemas fail with a SchemaError naming the JSON pointer.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::grammar {
namespace {

using json = nlohmann::ordered_json;

std::string error_path(const json& schema) {
    try {
        compile_schema(schema);
    } catch (const SchemaError& e) {
        return e.path();
    }
    return "(compiled)";
}

TEST(SchemaCompiler, EveryClaudeCodeToolSchemaCompilesWithOnlyFormatRelaxed) {
    std::ifstream in(std::string(PENSIEVE_SOURCE_DIR) +
                     "/tests/data/grammar/claude_code_tools.json");
    ASSERT_TRUE(in) << "tests/data/grammar/claude_code_tools.json is missing";
    const json tools = json::parse(in);
    ASSERT_GE(tools.size(), 7u);
    for (const json& tool : tools) {
        const Grammar g = compile_schema(tool["input_schema"]);
        if (tool["name"] == "WebFetch") {
            ASSERT_EQ(g.relaxed.size(), 1u);
            EXPECT_EQ(g.relaxed[0], "format at /properties/url/format");
        } else {
            EXPECT_TRUE(g.relaxed.empty()) << tool["name"] << ": " << g.relaxed[0];
        }
    }
}

TEST(SchemaCompiler, InvalidSchemasNameTheJsonPointerAtFault) {
    EXPECT_EQ(error_path(json{{"type", "objekt"}}), "/type");
    EXPECT_EQ(error_path(json{{"type", 3}}), "/type");
    EXPECT_EQ(
        error_path(json::parse(R"({"properties": {"a": {"type": "array", "minItems": -1}}})")),
        "/properties/a/minItems");
    EXPECT_EQ(error_path(json::parse(R"({"properties": {"a/b": {"enum": []}}})")),
              "/properties/a~1b/enum");
    EXPECT_EQ(error_path(json::parse(R"({"properties": {"x": {"$ref": "#/$defs/missing"}}})")),
              "/properties/x/$ref");
    EXPECT_EQ(error_path(json::parse(R"({"$ref": "https://example.com/s.json"})")), "/$ref");
    EXPECT_EQ(error_path(json::parse(R"({"type": "integer", "minimum": 5, "maximum": 4})")),
              "/minimum");
    EXPECT_EQ(error_path(json::parse(R"({"type": "string", "minLength": 5, "maxLength": 4})")),
              "/minLength");
    EXPECT_EQ(error_path(json::parse(
                  R"({"type": "object", "required": ["a"], "additionalProperties": false})")),
              "/required/0");
    EXPECT_EQ(error_path(json::parse(R"({"anyOf": []})")), "/anyOf");
    EXPECT_EQ(error_path(json(42)), "");
    EXPECT_EQ(error_path(json(false)), "");
}

TEST(SchemaCompiler, RefCyclesThatConsumeNothingAreErrorsNotHangs) {
    EXPECT_THROW(compile_schema(json::parse(R"({"$ref": "#"})")), SchemaError);
    EXPECT_THROW(
        compile_schema(json::parse(
            R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
                                               "$ref": "#/$defs/a"})")),
        SchemaError);
    // Recursion through a container is fine.
    EXPECT_NO_THROW(compile_schema(json::parse(
        R"({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"})")));
}

TEST(SchemaCompiler, HostileSizesAreTypedErrorsNotCrashes) {
    // Checked before anything recurses over it (ASan's larger frames included).
    const std::string deep = std::string(1000, '[') + "1" + std::string(1000, ']');
    EXPECT_EQ(error_path(json::parse(R"({"const": )" + deep + "}")), "");
    const std::string deepish = std::string(100, '[') + "1" + std::string(100, ']');
    EXPECT_EQ(error_path(json::parse(R"({"properties": {"a": {"const": )" + deepish + "}}}")),
              "/properties/a");
    json nested = json::object();
    for (int i = 0; i < 200; ++i) nested = json{{"items", nested}};
    EXPECT_EQ(error_path(nested).rfind("/items/items", 0), 0u);
    // Many wrappers around one wide anyOf: the flattened lists would be huge.
    json wide = json::array();
    for (int i = 0; i < 2000; ++i) wide.push_back(json{{"const", i}});
    json wrappers = json::array();
    for (int i = 0; i < 2000; ++i) {
        wrappers.push_back(json{{"anyOf", json::array({json{{"$ref", "#/$defs/w"}}})}});
    }
    const json fan = {{"$defs", {{"w", {{"anyOf", wide}}}}}, {"anyOf", wrappers}};
    try {
        compile_schema(fan);
        ADD_FAILURE() << "compiled";
    } catch (const SchemaError& e) {
        EXPECT_NE(std::string(e.what()).find("fan-out"), std::string::npos) << e.what();
    }
}

TEST(SchemaCompiler, UnenforcedKeywordsAreReportedOnceWithTheirPath) {
    const Grammar g = compile_schema(json::parse(R"({
        "type": "object",
        "properties": {
            "n": {"type": "number", "minimum": 0, "multipleOf": 2},
            "s": {"type": "string", "pattern": "a+b", "format": "email"},
            "u": {"type": "array", "uniqueItems": true},
            "o": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "f": {"type": "string", "format": "date"}
        }})"));
    const std::vector<std::string> expected = {"minimum (number) at /properties/n/minimum",
                                               "multipleOf at /properties/n/multipleOf",
                                               "format at /properties/s/format",
                                               "pattern at /properties/s/pattern",
                                               "uniqueItems at /properties/u/uniqueItems",
                                               "oneOf (as anyOf) at /properties/o/oneOf"};
    std::vector<std::string> got = g.relaxed;
    std::sort(got.begin(), got.end());
    std::vector<std::string> want = expected;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
}

TEST(SchemaCompiler, SimplePatternsAreEnforcedNotRelaxed) {
    for (const char* p : {"^toolu_", "^[a-z0-9_]+$", "^\\d{3}$", "^abc$", "^v[0-9]{1,3}$"}) {
        const Grammar g = compile_schema(json{{"type", "string"}, {"pattern", p}});
        EXPECT_TRUE(g.relaxed.empty()) << p;
    }
    for (const char* p : {"abc", "^(a|b)$", "^a[^x]$", "^[a-z]+@[a-z]+$"}) {
        const Grammar g = compile_schema(json{{"type", "string"}, {"pattern", p}});
        EXPECT_EQ(g.relaxed.size(), 1u) << p;
    }
}

TEST(SchemaCompiler, CanonicalJsonUsesPythonDumpsSeparators) {
    EXPECT_EQ(canonical_json(json::parse(R"({"a": [1, 2.5, "x"], "b": {"c": null}})")),
              R"({"a": [1, 2.5, "x"], "b": {"c": null}})");
    EXPECT_EQ(canonical_json(json("é\n")), "\"é\\n\"");
}

}  // namespace
}  // namespace pensieve::grammar
