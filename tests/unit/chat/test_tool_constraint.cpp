// call_schema and call_framing: the JSON Schema of one call in each syntax's
// shape, checked by compiling it and matching calls against the grammar
// (accepted and refused documents), and the framing per tool_choice.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "chat/tools/tool_constraint.hpp"
#include "engine/grammar/grammar.hpp"
#include "engine/grammar/matcher.hpp"
#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::chat {
namespace {

using json = nlohmann::ordered_json;
using Kind = ToolChoice::Kind;

const json kTools = json::parse(R"([
  {"name": "get_weather", "description": "Weather.",
   "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": false}},
  {"name": "Read",
   "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                    "required": ["file_path"], "additionalProperties": false}}
])");

const std::vector<std::string> kNames = {"get_weather", "Read"};

// A compiled schema's matcher takes all of `doc` and is then complete.
class Checker {
  public:
    explicit Checker(const json& schema)
        : g_(std::make_shared<const grammar::Grammar>(grammar::compile_schema(schema))) {}
    bool accepts(const std::string& doc) const {
        grammar::Matcher m(g_);
        return m.advance(doc) && m.accepting();
    }

  private:
    std::shared_ptr<const grammar::Grammar> g_;
};

TEST(CallSchema, HermesCallsAreNameAndArgumentsOfOneOfTheTools) {
    const json schema = call_schema(ToolCallSyntax::Hermes, kTools, kNames, {});
    ASSERT_TRUE(schema.contains("anyOf")) << schema.dump();
    ASSERT_EQ(schema["anyOf"].size(), 2u);
    const json& first = schema["anyOf"][0];
    EXPECT_EQ(first["type"], "object");
    EXPECT_EQ(first["properties"]["name"], (json{{"const", "get_weather"}}));
    EXPECT_EQ(first["properties"]["arguments"], kTools[0]["input_schema"]);
    EXPECT_EQ(first["required"], json::array({"name", "arguments"}));
    EXPECT_EQ(first["additionalProperties"], false);
    EXPECT_EQ(schema["anyOf"][1]["properties"]["name"]["const"], "Read");

    const Checker g(schema);
    EXPECT_TRUE(g.accepts(R"({"name": "get_weather", "arguments": {"city": "Paris"}})"));
    EXPECT_TRUE(g.accepts(R"({"name": "Read", "arguments": {"file_path": "/a"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Write", "arguments": {"file_path": "/a"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read", "arguments": {"city": "Paris"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read", "arguments": {}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read", "parameters": {"file_path": "/a"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read"})"));
}

TEST(CallSchema, AnInputSchemaNotTypedObjectIsNarrowedToItsObjects) {
    // A tool's input is an object: `{}`, an anyOf with other types, or a
    // $ref at the root give only objects as arguments.
    const json tools = json::array({{{"name", "any"}, {"input_schema", json::object()}},
                                    {{"name", "mixed"},
                                     {"input_schema",
                                      {{"anyOf",
                                        {{{"type", "object"},
                                          {"properties", {{"a", {{"type", "integer"}}}}},
                                          {"required", {"a"}},
                                          {"additionalProperties", false}},
                                         {{"type", "array"}}}}}}},
                                    {{"name", "ref"},
                                     {"input_schema",
                                      {{"$ref", "#/$defs/point"},
                                       {"$defs",
                                        {{"point",
                                          {{"type", "object"},
                                           {"properties", {{"x", {{"type", "integer"}}}}},
                                           {"required", {"x"}},
                                           {"additionalProperties", false}}}}}}}}});
    const Checker g(call_schema(ToolCallSyntax::Hermes, tools, {"any", "mixed", "ref"}, {}));
    EXPECT_TRUE(g.accepts(R"({"name": "any", "arguments": {"k": [1, "v"]}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "any", "arguments": 1})"));
    EXPECT_FALSE(g.accepts(R"({"name": "any", "arguments": [{}]})"));
    EXPECT_TRUE(g.accepts(R"({"name": "mixed", "arguments": {"a": 1}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "mixed", "arguments": [1]})"));
    EXPECT_TRUE(g.accepts(R"({"name": "ref", "arguments": {"x": 2}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "ref", "arguments": {"y": 2}})"));
    // A schema that allows no object at all leaves nothing to call.
    const json none = json::array({{{"name", "n"}, {"input_schema", {{"enum", {1, 2}}}}}});
    EXPECT_THROW(grammar::compile_schema(call_schema(ToolCallSyntax::Hermes, none, {"n"}, {})),
                 grammar::SchemaError);
}

TEST(InputSchema, ATypedSchemaStandsAsItIsAndAnUntypedOneIsNarrowedWithItsReferences) {
    const json typed = kTools[1]["input_schema"];
    EXPECT_EQ(input_schema(typed, ""), typed);
    // On its own (base ""), a $ref at the root still resolves once the
    // schema is wrapped in allOf.
    const json ref = {{"$ref", "#/$defs/point"},
                      {"$defs",
                       {{"point",
                         {{"type", "object"},
                          {"properties", {{"x", {{"type", "integer"}}}}},
                          {"required", {"x"}},
                          {"additionalProperties", false}}}}}};
    const json narrowed = input_schema(ref, "");
    EXPECT_EQ(narrowed["allOf"][0]["$ref"], "#/allOf/0/$defs/point");
    const Checker g(narrowed);
    EXPECT_TRUE(g.accepts(R"({"x": 2})"));
    EXPECT_FALSE(g.accepts(R"({"y": 2})"));
    EXPECT_THROW(grammar::compile_schema(input_schema({{"enum", {1, 2}}}, "")),
                 grammar::SchemaError);
}

TEST(CallSchema, LlamaCallsUseParameters) {
    const json schema = call_schema(ToolCallSyntax::Llama, kTools, kNames, {});
    EXPECT_EQ(schema["anyOf"][0]["required"], json::array({"name", "parameters"}));
    const Checker g(schema);
    EXPECT_TRUE(g.accepts(R"({"name": "Read", "parameters": {"file_path": "/a"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read", "arguments": {"file_path": "/a"}})"));
}

TEST(CallSchema, MistralCallsAreAnArrayOfOneWhenParallelCallsAreOff) {
    const json many = call_schema(ToolCallSyntax::Mistral, kTools, kNames, {});
    EXPECT_EQ(many["type"], "array");
    EXPECT_EQ(many["minItems"], 1);
    EXPECT_FALSE(many.contains("maxItems"));
    const std::string one = R"([{"name": "Read", "arguments": {"file_path": "/a"}}])";
    const std::string two =
        R"([{"name": "Read", "arguments": {"file_path": "/a"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}])";
    const Checker g(many);
    EXPECT_TRUE(g.accepts(one));
    EXPECT_TRUE(g.accepts(two));
    EXPECT_FALSE(g.accepts("[]"));
    EXPECT_FALSE(g.accepts(R"({"name": "Read", "arguments": {"file_path": "/a"}})"));

    ToolChoice single;
    single.disable_parallel = true;
    const json capped = call_schema(ToolCallSyntax::Mistral, kTools, kNames, single);
    EXPECT_EQ(capped["maxItems"], 1);
    const Checker c(capped);
    EXPECT_TRUE(c.accepts(one));
    EXPECT_FALSE(c.accepts(two));
    // Other syntaxes cap calls in the framing, not the schema.
    EXPECT_FALSE(call_schema(ToolCallSyntax::Hermes, kTools, kNames, single).contains("maxItems"));
}

TEST(CallSchema, AChosenToolIsTheOnlyOneThatCanBeCalled) {
    ToolChoice choice;
    choice.kind = Kind::Tool;
    choice.name = "Read";
    const json schema = call_schema(ToolCallSyntax::Hermes, kTools, kNames, choice);
    EXPECT_FALSE(schema.contains("anyOf")) << schema.dump();
    EXPECT_EQ(schema["properties"]["name"]["const"], "Read");
    const Checker g(schema);
    EXPECT_TRUE(g.accepts(R"({"name": "Read", "arguments": {"file_path": "/a"}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "get_weather", "arguments": {"city": "Paris"}})"));
}

TEST(CallSchema, ANameWithoutADefinitionTakesAnyObject) {
    const json schema = call_schema(ToolCallSyntax::Hermes, kTools, {"unknown"}, {});
    EXPECT_EQ(schema["properties"]["arguments"], (json{{"type", "object"}}));
    EXPECT_TRUE(Checker(schema).accepts(R"({"name": "unknown", "arguments": {"x": [1, "y"]}})"));
}

// Tools whose schemas refer to their own $defs and to themselves.
const json kRefTools = json::parse(R"([
  {"name": "geo",
   "input_schema": {"type": "object", "properties": {"loc": {"$ref": "#/$defs/Loc"}},
                    "required": ["loc"], "additionalProperties": false,
                    "$defs": {"Loc": {"type": "object", "properties": {"lat": {"type": "number"}},
                                      "required": ["lat"], "additionalProperties": false}}}},
  {"name": "tree",
   "input_schema": {"type": "object",
                    "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}},
                    "additionalProperties": false}}
])");

TEST(CallSchema, RefsInsideAToolSchemaAreRebasedIntoTheCombinedSchema) {
    const json schema = call_schema(ToolCallSyntax::Hermes, kRefTools, {"geo", "tree"}, {});
    EXPECT_EQ(schema["anyOf"][0]["properties"]["arguments"]["properties"]["loc"]["$ref"],
              "#/anyOf/0/properties/arguments/$defs/Loc");
    EXPECT_EQ(schema["anyOf"][1]["properties"]["arguments"]["properties"]["kids"]["items"]["$ref"],
              "#/anyOf/1/properties/arguments");
    // The tools themselves are left as they were.
    EXPECT_EQ(kRefTools[0]["input_schema"]["properties"]["loc"]["$ref"], "#/$defs/Loc");

    const Checker g(schema);
    EXPECT_TRUE(g.accepts(R"({"name": "geo", "arguments": {"loc": {"lat": 1.5}}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "geo", "arguments": {"loc": {"lon": 1.5}}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "geo", "arguments": {"loc": {"lat": "x"}}})"));
    EXPECT_TRUE(g.accepts(R"({"name": "tree", "arguments": {"kids": [{"kids": [{}]}, {}]}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "tree", "arguments": {"kids": [{"leaf": 1}]}})"));

    // One tool: no anyOf in the path; Mistral: under the array's items.
    const json single = call_schema(ToolCallSyntax::Hermes, kRefTools, {"geo"}, {});
    EXPECT_EQ(single["properties"]["arguments"]["properties"]["loc"]["$ref"],
              "#/properties/arguments/$defs/Loc");
    EXPECT_TRUE(Checker(single).accepts(R"({"name": "geo", "arguments": {"loc": {"lat": 2}}})"));
    const json mistral = call_schema(ToolCallSyntax::Mistral, kRefTools, {"geo", "tree"}, {});
    EXPECT_EQ(mistral["items"]["anyOf"][0]["properties"]["arguments"]["properties"]["loc"]["$ref"],
              "#/items/anyOf/0/properties/arguments/$defs/Loc");
    const Checker m(mistral);
    EXPECT_TRUE(m.accepts(R"([{"name": "geo", "arguments": {"loc": {"lat": 1}}}])"));
    EXPECT_FALSE(m.accepts(R"([{"name": "geo", "arguments": {"loc": {"lon": 1}}}])"));
    EXPECT_TRUE(m.accepts(R"([{"name": "tree", "arguments": {"kids": [{}]}}])"));
    const json llama = call_schema(ToolCallSyntax::Llama, kRefTools, {"tree"}, {});
    EXPECT_EQ(llama["properties"]["parameters"]["properties"]["kids"]["items"]["$ref"],
              "#/properties/parameters");
    EXPECT_TRUE(Checker(llama).accepts(R"({"name": "tree", "parameters": {"kids": [{}]}})"));
}

TEST(CallSchema, MoreToolsThanTheMatcherFollowsConstrainOnlyTheName) {
    auto tools_named = [](size_t n) {
        json tools = json::array();
        std::vector<std::string> names;
        for (size_t i = 0; i < n; ++i) {
            names.push_back("t" + std::to_string(i));
            tools.push_back({{"name", names.back()},
                             {"input_schema",
                              {{"type", "object"},
                               {"properties", {{"n", {{"type", "integer"}}}}},
                               {"required", {"n"}},
                               {"additionalProperties", false}}}});
        }
        return std::pair{tools, names};
    };
    // At the bound: one branch per tool, arguments checked.
    const auto [at_tools, at_names] = tools_named(grammar::kMaxAlternatives);
    const json at = call_schema(ToolCallSyntax::Hermes, at_tools, at_names, {});
    ASSERT_EQ(at["anyOf"].size(), grammar::kMaxAlternatives);
    const Checker at_g(at);
    EXPECT_TRUE(at_g.accepts(R"({"name": "t63", "arguments": {"n": 1}})"));
    EXPECT_FALSE(at_g.accepts(R"({"name": "t63", "arguments": {"m": 1}})"));

    // Past it: the name from an enum, the arguments any object.
    const auto [tools, names] = tools_named(grammar::kMaxAlternatives + 1);
    const json schema = call_schema(ToolCallSyntax::Hermes, tools, names, {});
    EXPECT_FALSE(schema.contains("anyOf"));
    EXPECT_EQ(schema["properties"]["name"]["enum"].size(), names.size());
    EXPECT_EQ(schema["properties"]["arguments"], (json{{"type", "object"}}));
    const Checker g(schema);
    EXPECT_TRUE(g.accepts(R"({"name": "t64", "arguments": {"m": [1]}})"));
    EXPECT_TRUE(g.accepts(R"({"name": "t0", "arguments": {}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "t65", "arguments": {}})"));
    EXPECT_FALSE(g.accepts(R"({"name": "t1", "arguments": [1]})"));
    const json llama = call_schema(ToolCallSyntax::Llama, tools, names, {});
    EXPECT_EQ(llama["required"], json::array({"name", "parameters"}));
}

TEST(CallFraming, PerSyntaxAndToolChoice) {
    ToolChoice automatic, any, tool, none, single;
    any.kind = Kind::Any;
    tool.kind = Kind::Tool;
    tool.name = "Read";
    none.kind = Kind::None;
    single.disable_parallel = true;

    auto hermes = call_framing(ToolCallSyntax::Hermes, automatic);
    EXPECT_EQ(hermes.opener, "<tool_call>");
    EXPECT_EQ(hermes.closer, "</tool_call>");
    EXPECT_FALSE(hermes.must_call);
    EXPECT_EQ(hermes.max_calls, 0);
    EXPECT_EQ(call_framing(ToolCallSyntax::Hermes, single).max_calls, 1);
    EXPECT_TRUE(call_framing(ToolCallSyntax::Hermes, any).must_call);
    EXPECT_TRUE(call_framing(ToolCallSyntax::Hermes, tool).must_call);
    EXPECT_FALSE(call_framing(ToolCallSyntax::Hermes, none).must_call);

    auto mistral = call_framing(ToolCallSyntax::Mistral, automatic);
    EXPECT_EQ(mistral.opener, "[TOOL_CALLS]");
    EXPECT_EQ(mistral.closer, "");
    EXPECT_EQ(mistral.max_calls, 1);
    EXPECT_TRUE(call_framing(ToolCallSyntax::Mistral, any).must_call);

    auto llama = call_framing(ToolCallSyntax::Llama, automatic);
    EXPECT_EQ(llama.opener, "<|python_tag|>");
    EXPECT_FALSE(llama.must_call);
    EXPECT_EQ(llama.max_calls, 1);
    auto llama_any = call_framing(ToolCallSyntax::Llama, any);
    EXPECT_EQ(llama_any.opener, "");  // the whole reply is the call
    EXPECT_EQ(llama_any.closer, "");
    EXPECT_TRUE(llama_any.must_call);
    EXPECT_EQ(llama_any.max_calls, 1);
}

}  // namespace
}  // namespace pensieve::chat
