// Whitespace handling as jinja2 does it with trim_blocks + lstrip_blocks, and parse
// errors that name line and column.
#include <gtest/gtest.h>

#include "chat/error.hpp"
#include "render_helper.hpp"

using pensieve::chat::Template;
using pensieve::chat::TemplateSyntaxError;
using pensieve::chat::testing::render;

TEST(ChatLexer, TrimBlocksDropsTheNewlineAfterABlockTag) {
    EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
}

TEST(ChatLexer, LstripBlocksDropsIndentBeforeABlockTagOnItsOwnLine) {
    EXPECT_EQ(render("a\n    {% if true %}\n    in\n    {% endif %}\nb"), "a\n    in\nb");
}

TEST(ChatLexer, LstripBlocksDoesNotApplyToVariableTags) {
    EXPECT_EQ(render("  {{ 1 }}\n  {% if true %}y{% endif %}"), "  1\ny");
}

TEST(ChatLexer, MinusStripsAllWhitespaceOnThatSide) {
    EXPECT_EQ(render("a  \n  {%- if true -%}  \n x \n  {%- endif -%}  \n b"), "axb");
    EXPECT_EQ(render("a \n {{- 1 -}} \n b"), "a1b");
}

TEST(ChatLexer, PlusDisablesLstripAndTrim) {
    EXPECT_EQ(render("a\n    {%+ if true %}x{% endif +%}\nb"), "a\n    x\nb");
}

TEST(ChatLexer, CommentsAreTrimmedLikeBlocks) {
    EXPECT_EQ(render("a\n  {# c #}\nb{#- c -#} c"), "a\nbc");
}

TEST(ChatLexer, NewlinesAreNormalizedAndOneTrailingNewlineDropped) {
    EXPECT_EQ(render("a\r\nb\rc\n\n"), "a\nb\nc\n");
}

TEST(ChatLexer, RawBlocksAreNotInterpreted) {
    EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(ChatLexer, StringLiteralsUsePythonEscapes) {
    EXPECT_EQ(render(R"({{ 'a\nb\t\x41\u00e9\\' ~ "q\"" }})"), "a\nb\tA\xc3\xa9\\q\"");
    EXPECT_EQ(render(R"({{ 'keep \d' }})"), "keep \\d");
}

TEST(ChatLexer, BracesInsideExpressionsDoNotEndTheTag) {
    EXPECT_EQ(render("{{ {'a': {'b': 1}}['a']['b'] }}"), "1");
}

namespace {

TemplateSyntaxError syntax_error_of(const std::string& source) {
    try {
        Template::parse(source);
    } catch (const TemplateSyntaxError& e) {
        return e;
    }
    ADD_FAILURE() << "no syntax error for: " << source;
    return TemplateSyntaxError("none", 0, 0);
}

}  // namespace

TEST(ChatParseErrors, NameLineAndColumn) {
    const auto e = syntax_error_of("line one\n  {{ 1 + }}");
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.column(), 10);
    EXPECT_NE(std::string(e.what()).find("line 2, column 10"), std::string::npos);
}

TEST(ChatParseErrors, UnknownTagFilterAndTestFailAtLoad) {
    EXPECT_NE(syntax_error_of("{% frob %}").message().find("unknown tag 'frob'"),
              std::string::npos);
    EXPECT_NE(syntax_error_of("{{ x|frob }}").message().find("No filter named 'frob'"),
              std::string::npos);
    EXPECT_NE(syntax_error_of("{{ x is frob }}").message().find("No test named 'frob'"),
              std::string::npos);
}

TEST(ChatParseErrors, UnclosedBlocksAndTags) {
    EXPECT_NE(syntax_error_of("{% if x %}abc").message().find("'endif'"), std::string::npos);
    EXPECT_NE(syntax_error_of("{{ x ").message().find("end of template"), std::string::npos);
    EXPECT_NE(syntax_error_of("{# never closed").message().find("comment"), std::string::npos);
    EXPECT_EQ(syntax_error_of("a\nb\n{% for x in y %}\n{% endif %}").line(), 4);
}

TEST(ChatParseErrors, BreakOutsideLoopAndUnsupportedTags) {
    syntax_error_of("{% break %}");
    syntax_error_of("{% include 'x' %}");
    syntax_error_of("{% extends 'x' %}");
}

TEST(ChatParseErrors, MismatchedBrackets) {
    syntax_error_of("{{ (1 ] }}");
    syntax_error_of("{{ [1, 2 }}");
}
