// One behaviour per test for the statements and expressions templates use. The
// byte-exact comparison with jinja2 over real templates is tests/reference/chat.
#include <gtest/gtest.h>

#include "render_helper.hpp"

using nlohmann::ordered_json;
using pensieve::chat::testing::render;

TEST(ChatRender, ForLoopExposesLoopVariables) {
    EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                     "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
                     {{"xs", {"a", "b"}}}),
              "102TrueFalse2;211FalseTrue2;");
}

TEST(ChatRender, ForLoopFilterAndElse) {
    EXPECT_EQ(render("{% for x in [1, 2, 3] if x > 1 %}{{ x }}/{{ loop.length }} {% endfor %}"),
              "2/2 3/2 ");
    EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
}

TEST(ChatRender, ForLoopPrevAndNextItem) {
    EXPECT_EQ(
        render(
            "{% for x in [1, 2] %}{{ loop.previtem is defined }}{{ loop.nextitem }}{% endfor %}"),
        "False2True");
}

TEST(ChatRender, BreakAndContinue) {
    EXPECT_EQ(render("{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}"
                     "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
              "023");
}

TEST(ChatRender, UnpackingInForAndSet) {
    EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}",
                     {{"d", {{"a", 1}, {"b", 2}}}}),
              "a=1 b=2 ");
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}"), "21");
}

TEST(ChatRender, IfElifElse) {
    const char* t = "{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}";
    EXPECT_EQ(render(t, {{"n", 9}}), "big");
    EXPECT_EQ(render(t, {{"n", 3}}), "mid");
    EXPECT_EQ(render(t, {{"n", 1}}), "small");
}

TEST(ChatRender, SetInsideLoopDoesNotLeakButNamespaceDoes) {
    EXPECT_EQ(render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{% endfor %}{{ x }}"),
              "1");
    EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}"
                     "{% endfor %}{{ ns.x }}"),
              "4");
}

TEST(ChatRender, SetInsideIfIsVisibleAfterIt) {
    EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");
}

TEST(ChatRender, BlockSetWithFilters) {
    EXPECT_EQ(render("{% set v | upper | trim %} hi {% endset %}[{{ v }}]"), "[HI]");
}

TEST(ChatRender, MacrosWithDefaultsKeywordsAndRecursion) {
    EXPECT_EQ(
        render(
            "{% macro g(n, p='!') %}{{ n }}{{ p }}{% endmacro %}{{ g('a') }}{{ g('b', p='?') }}"),
        "a!b?");
    EXPECT_EQ(render("{% macro f(k) %}{% if k > 0 %}{{ k }}{{ f(k - 1) }}{% endif %}{% endmacro "
                     "%}{{ f(3) }}"),
              "321");
}

TEST(ChatRender, CallBlockPassesCaller) {
    EXPECT_EQ(render("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}x{% endcall %}"),
              "<x>");
}

TEST(ChatRender, GenerationTagRendersItsBody) {
    EXPECT_EQ(render("{% generation %}answer{% endgeneration %}"), "answer");
}

TEST(ChatRender, ExpressionsFollowJinjaPrecedence) {
    EXPECT_EQ(
        render(
            "{{ 1 + 2 * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 'a' ~ 1 * 2 }} {{ not 1 == 2 }}"),
        "7 64 4 a2 True");
    EXPECT_EQ(render("{{ 'x' if false }}|{{ 'y' if 0 else 'z' }}"), "|z");
}

TEST(ChatRender, TestsAndMembership) {
    EXPECT_EQ(render("{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}"
                     "{{ {} is mapping }}{{ 3 is odd }}{{ 'b' in 'abc' }}{{ 4 not in [1] }}",
                     {{"x", 1}}),
              "TrueTrueTrueTrueTrueTrueTrueTrue");
}

TEST(ChatRender, FiltersCommonInTemplates) {
    const ordered_json vars = {
        {"ms", {{{"role", "system"}, {"content", " a "}}, {{"role", "user"}, {"content", "b"}}}}};
    EXPECT_EQ(
        render("{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}",
               vars),
        "b");
    EXPECT_EQ(render("{{ ms[0].content|trim }}|{{ ms|length }}|{{ ms|first|tojson }}", vars),
              "a|2|{\"role\": \"system\", \"content\": \" a \"}");
    EXPECT_EQ(render("{{ missing|default('d') }}{{ ''|default('e', true) }}"), "de");
}

TEST(ChatRender, StringMethods) {
    EXPECT_EQ(render("{{ '<think>a</think>b'.split('</think>')[-1] }}|{{ ' x '.strip() }}|"
                     "{{ 'ab'.startswith('a') }}|{{ '\\nx'.lstrip('\\n') }}|{{ 'a{}'.format(1) }}"),
              "b|x|True|x|a1");
}

TEST(ChatRender, AttributeLookupPrefersPythonAttributesOverKeys) {
    // jinja2: d.items is the dict method even when a key "items" exists; d['items'] is the key.
    EXPECT_EQ(render("{{ d.items is callable }}{{ d['items'] }}", {{"d", {{"items", "key"}}}}),
              "Truekey");
}
