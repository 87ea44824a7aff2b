// Python's formatting rules that decide bytes of the prompt: float repr, str() of
// containers, json.dumps separators/escaping, and code-point string operations.
#include <gtest/gtest.h>

#include "chat/ops.hpp"
#include "chat/pystr.hpp"
#include "render_helper.hpp"

using pensieve::chat::float_repr;
using pensieve::chat::testing::render;
namespace pystr = pensieve::chat::pystr;

TEST(ChatPython, FloatReprMatchesPython) {
    EXPECT_EQ(float_repr(1.0), "1.0");
    EXPECT_EQ(float_repr(0.1), "0.1");
    EXPECT_EQ(float_repr(1e16), "1e+16");
    EXPECT_EQ(float_repr(1234567890123456.0), "1234567890123456.0");
    EXPECT_EQ(float_repr(0.0001), "0.0001");
    EXPECT_EQ(float_repr(0.00001), "1e-05");
    EXPECT_EQ(float_repr(-0.0), "-0.0");
    EXPECT_EQ(float_repr(1.5e-7), "1.5e-07");
    EXPECT_EQ(float_repr(2.5e300), "2.5e+300");
}

TEST(ChatPython, StrOfContainersIsPythonRepr) {
    EXPECT_EQ(render("{{ [1, 'a', none, true, 1.5] }}"), "[1, 'a', None, True, 1.5]");
    EXPECT_EQ(render("{{ {'k': \"it's\"} }} {{ (1,) }} {{ () }}"), "{'k': \"it's\"} (1,) ()");
}

TEST(ChatPython, TojsonMatchesJsonDumps) {
    EXPECT_EQ(render("{{ {'a': [1, 2.0, none], 'b': 'é\"\\n'}|tojson }}"),
              "{\"a\": [1, 2.0, null], \"b\": \"é\\\"\\n\"}");
    EXPECT_EQ(render("{{ {'a': [1]}|tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ]\n}");
    EXPECT_EQ(render("{{ 'é'|tojson(ensure_ascii=true) }}"), "\"\\u00e9\"");
    EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"), "{\"a\": 2, \"b\": 1}");
}

TEST(ChatPython, StringsIndexBySCodePoint) {
    EXPECT_EQ(render("{{ s|length }} {{ s[1] }} {{ s[-1] }} {{ s[::-1] }}",
                     {{"s", "h\xC3\xA9\xF0\x9F\xA4\x96"}}),
              "3 \xC3\xA9 \xF0\x9F\xA4\x96 \xF0\x9F\xA4\x96\xC3\xA9h");
}

TEST(ChatPython, StripUsesPythonWhitespace) {
    EXPECT_EQ(pystr::strip("\xC2\xA0 x\t\n\x1F", true, true), "x");  // NBSP and U+001F count
    EXPECT_EQ(pystr::strip_chars("xxaxx", "x", true, false), "axx");
}

TEST(ChatPython, SplitFollowsPython) {
    EXPECT_EQ(pystr::split("  a  b ", "", true, -1), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(pystr::split("a,,b", ",", false, -1), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_EQ(pystr::rsplit("a,b,c", ",", false, 1), (std::vector<std::string>{"a,b", "c"}));
    // rsplit(None, n): the unsplit rest keeps its leading whitespace, as in Python.
    EXPECT_EQ(pystr::rsplit("  a b c ", "", true, 1), (std::vector<std::string>{"  a b", "c"}));
}

TEST(ChatPython, IntegerArithmeticIsPythonFloorSemantics) {
    EXPECT_EQ(render("{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** -1 }}"),
              "-4 2 3.5 2.0 0.5");
}

TEST(ChatPython, UndefinedBehavesLikeJinjaDefaultUndefined) {
    EXPECT_EQ(render("[{{ missing }}]{{ missing|length }}{{ missing is iterable }}{% for x in "
                     "missing %}x{% endfor %}"),
              "[]0True");
}
