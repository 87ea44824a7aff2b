// Templates come from model files and may be hostile: runaway loops, recursion, huge
// output and deep nesting must end in a typed error, never a hang or a crash.
#include <gtest/gtest.h>

#include <chrono>

#include "chat/error.hpp"
#include "chat/ops.hpp"
#include "render_helper.hpp"

using namespace pensieve::chat;
using pensieve::chat::testing::render;

TEST(ChatErrors, RaiseExceptionIsATypedErrorWithTheTemplatesMessage) {
    try {
        render("{{ raise_exception('roles must alternate') }}");
        FAIL() << "expected TemplateRaisedError";
    } catch (const TemplateRaisedError& e) {
        EXPECT_STREQ(e.what(), "roles must alternate");
    }
}

TEST(ChatErrors, UndefinedUsedWhereJinjaRaises) {
    EXPECT_THROW(render("{{ missing.attr }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ missing + 1 }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ missing() }}"), TemplateRenderError);
    try {
        render("{{ missing.attr }}");
    } catch (const TemplateRenderError& e) {
        EXPECT_STREQ(e.what(), "'missing' is undefined");
    }
}

TEST(ChatErrors, TypeErrorsAreRenderErrors) {
    EXPECT_THROW(render("{{ 'a' + 1 }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 1 / 0 }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 9223372036854775807 + 1 }}"), TemplateRenderError);
    EXPECT_THROW(render("{% set a, b = [1] %}"), TemplateRenderError);
}

TEST(ChatErrors, AFormatFieldIndexPastSizeTIsAMissingArgument) {
    EXPECT_EQ(render("{{ '{0}-{1}'.format('a', 'b') }}"), "a-b");
    // Twenty-three digits overflow any integer type; reading them once threw a bare
    // std::out_of_range past the template error types.
    EXPECT_THROW(render("{{ '{99999999999999999999999}'.format(1) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ '{7}'.format(1) }}"), TemplateRenderError);
}

TEST(ChatErrors, MutatingMethodsAreRefusedAsInTheImmutableSandbox) {
    EXPECT_THROW(render("{% set l = [1] %}{{ l.append(2) }}"), TemplateRenderError);
    EXPECT_EQ(render("{{ [1].append is defined }}"), "False");
}

TEST(ChatLimits, RunawayLoopsStopAtTheIterationBound) {
    Limits limits;
    limits.max_loop_iterations = 10'000;
    EXPECT_THROW(
        render("{% for i in range(100) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", {},
               limits),
        TemplateLimitError);
    EXPECT_THROW(render("{{ range(1000000)|length }}", {}, limits), TemplateLimitError);
}

TEST(ChatLimits, InfiniteRecursionStopsAtTheCallDepthBound) {
    EXPECT_THROW(render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), TemplateLimitError);
    EXPECT_THROW(render("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}"),
                 TemplateLimitError);
}

TEST(ChatLimits, OutputSizeIsBounded) {
    Limits limits;
    limits.max_output_bytes = 1 << 16;
    // 2,000 items fit in a list of at most 64 KiB; 2,000 x 40 bytes do not fit the output.
    EXPECT_THROW(render("{% for i in range(2000) %}{{ 'x' * 40 }}{% endfor %}", {}, limits),
                 TemplateLimitError);
    EXPECT_THROW(render("{{ 'x' * 1000000000000 }}", {}, limits), TemplateLimitError);
    // Doubling a string through a namespace (a plain `set` would not survive the loop).
    EXPECT_THROW(render("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}"
                        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                        {}, limits),
                 TemplateLimitError);
}

TEST(ChatLimits, ExpensiveStepsInALoopStopAtTheTimeBound) {
    // Each step is within the bounds (a 10 MB string, a million iterations), but
    // their product is hours of scanning.
    Limits limits;
    limits.max_render_seconds = 0.2;
    const char* loop =
        "{% set s = 'a' * 10000000 %}{% for i in range(1000000) %}{% if 'b' in s %}{% endif %}"
        "{% endfor %}";
    EXPECT_THROW(render(loop, {}, limits), TemplateLimitError);
    // Within one statement too: sixteen 60 MB strings take far longer than 50 ms.
    std::string wide = "{{ 0";
    for (int i = 0; i < 16; ++i) wide += " + ('a' * 60000000)|length";
    limits.max_render_seconds = 0.05;
    EXPECT_THROW(render(wide + " }}", {}, limits), TemplateLimitError);
    EXPECT_EQ(render("{{ 'ok' }}"), "ok");  // the default leaves ordinary renders alone
}

TEST(ChatLimits, LongFiltersAndComparisonsStopAtTheTimeBound) {
    // One expression each, seconds of work: comparing a million-byte string per item
    // (a and b are equal but separate strings; c differs in its last byte), lowering
    // one per item (sort, unique and max compare case-insensitively) or measuring one.
    Limits limits;
    limits.max_render_seconds = 0.1;
    const std::string strings =
        "{% set a = 'x' * 1000000 %}{% set b = 'x' * 1000000 %}{% set c = 'x' * 999999 ~ 'y' %}";
    const char* slow[] = {
        "{{ ([a] * 100000) == ([b] * 100000) }}",
        "{{ {'k': [a] * 100000} == {'k': [b] * 100000} }}",
        "{{ c in [a] * 100000 }}",
        "{{ ([a] * 100000).count(c) }}",
        "{{ ([a] * 100000)|select('equalto', c)|list|length }}",
        "{{ ([a] * 5000)|map('length')|list|length }}",
        "{{ ([a] * 500 + [b] * 500)|unique|list|length }}",
        "{{ ([a, b] * 40)|sort|length }}",
        "{{ ([a, b] * 500)|max|length }}",
    };
    for (const char* expression : slow) {
        EXPECT_THROW(render(strings + expression, {}, limits), TemplateLimitError) << expression;
    }
    // Summing lists copied the running total per item: 100,000 lists took 20 seconds.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(render("{{ ([[1]] * 100000)|sum(start=[])|length }}"), "100000");
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took.count(), 2.0);
    EXPECT_EQ(render("{{ [[1], [2, 3]]|sum(start=[0]) }} {{ [(1,), (2,)]|sum(start=()) }}"),
              "[0, 1, 2, 3] (1, 2)");
    EXPECT_THROW(render("{{ [[1], 2]|sum(start=[]) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ [(1,)]|sum(start=[]) }}"), TemplateRenderError);
}

TEST(ChatLimits, IndentWidthsAreIntegersWithinTheOutputBound) {
    EXPECT_EQ(render("{{ 'a\nb'|indent(2) }}"), "a\n  b");
    // Found by fuzz_jinja: a width of another type was read as an integer
    // (a float's bits, a pointer) and allocated, as was any huge width.
    EXPECT_THROW(render("{{ 'a\nb'|indent(1.5) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 'a\nb'|indent(none) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 'a\nb'|indent('ab'|list) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 'a\nb'|indent(1000000000000000) }}"), TemplateLimitError);
    EXPECT_THROW(render("{{ [1]|tojson(indent=1.5) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ [1]|tojson(indent=1000000000000000) }}"), TemplateLimitError);
    EXPECT_THROW(render("{{ 'aa'|replace('a', 'b', 1.5) }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ 2.5|round(1.5) }}"), TemplateRenderError);
}

TEST(ChatLimits, DeepNestingIsASyntaxErrorNotAStackOverflow) {
    EXPECT_THROW(Template::parse("{{ " + std::string(100000, '(')), TemplateSyntaxError);
    EXPECT_THROW(Template::parse("{{ " + std::string(100000, '[')), TemplateSyntaxError);
    EXPECT_THROW(Template::parse("{{ " + std::string(100000, '-') + "1 }}"), TemplateSyntaxError);
    EXPECT_THROW(Template::parse("{{ 1" + std::string(100000, '+') + "1 }}"), TemplateSyntaxError);
    EXPECT_THROW(Template::parse("{{ " + std::string(50000, 'x').replace(0, 1, "x") +
                                 std::string(50000, '|') + " }}"),
                 TemplateSyntaxError);
    std::string chain = "{{ 1";
    for (int i = 0; i < 5000; ++i) chain += " + 1";
    EXPECT_THROW(Template::parse(chain + " }}"), TemplateSyntaxError);
    std::string ifs;
    for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
    EXPECT_THROW(Template::parse(ifs), TemplateSyntaxError);
}

TEST(ChatLimits, ALongComparisonChainParsesInLinearTime) {
    // 200,000 operators: a parser that re-measures the whole chain at each operator
    // takes half a minute; a linear one a fraction of a second.
    std::string chain = "{{ 1";
    for (int i = 0; i < 200000; ++i) chain += " < 2";
    const auto start = std::chrono::steady_clock::now();
    const Template parsed = Template::parse(chain + " }}");
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took.count(), 5.0);
    EXPECT_EQ(parsed.render(DictData{}), "False");
    EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }}"), "True False");
}

TEST(ChatLimits, ValuesCannotNestPastTheDepthBound) {
    Limits limits;
    limits.max_value_depth = 3;
    EXPECT_EQ(render("{{ [[(1,)]] }}", {}, limits), "[[(1,)]]");
    EXPECT_THROW(render("{{ [[[(1,)]]] }}", {}, limits), TemplateLimitError);
    EXPECT_THROW(render("{{ {'a': {'b': {'c': {}}}} }}", {}, limits), TemplateLimitError);
    EXPECT_THROW(render("{{ [{'a': [1]}]|map('items')|list }}", {}, limits), TemplateLimitError);
    EXPECT_THROW(render("{% set ns = namespace() %}{% set ns.v = [[[[1]]]] %}", {}, limits),
                 TemplateLimitError);
    // Wrapping a value in itself through a namespace: two hundred thousand levels once
    // overflowed the stack when the list was destroyed.
    const char* wrap =
        "{% set ns = namespace(v=1) %}{% for i in range(200000) %}{% set ns.v = [ns.v] %}"
        "{% endfor %}";
    EXPECT_THROW(render(wrap), TemplateLimitError);
    EXPECT_THROW(render("{% set ns = namespace(v=1) %}{% for i in range(200000) %}"
                        "{% set ns.v = {'k': ns.v} %}{% endfor %}"),
                 TemplateLimitError);
}

TEST(ChatLimits, LongChainsThroughObjectsAreReleasedWithoutRecursion) {
    // Objects hold values without adding to their depth (they print and compare by
    // identity), so these chains are legal; dropping one must not recurse per link.
    const char* chains[] = {
        "{% set ns.v = namespace(v=ns.v) %}",
        "{% set ns.v = cycler(ns.v) %}",
        "{% set ns.v = [ns.v].count %}",
        "{% set prev = ns.v %}{% for x in [1] %}{% set ns.v = loop %}{% endfor %}",
    };
    for (const char* link : chains) {
        const std::string source = "{% set ns = namespace(v=1) %}{% for i in range(200000) %}" +
                                   std::string(link) + "{% endfor %}{% set ns.v = 0 %}ok";
        EXPECT_EQ(render(source), "ok") << link;
    }
}

TEST(ChatLimits, ComparingDeepValuesIsBoundedAndLinear) {
    // Built directly, past the interpreter's depth check.
    const auto nest = [](std::size_t depth, int64_t leaf) {
        Value v = Value::integer(leaf);
        for (std::size_t i = 0; i < depth; ++i) v = Value::list({v});
        return v;
    };
    const Value deep_a = nest(1'000'000, 1);
    const Value deep_b = nest(1'000'000, 1);
    EXPECT_EQ(deep_a.depth(), 1'000'000U);
    EXPECT_THROW(values_equal(deep_a, deep_b), TemplateLimitError);
    EXPECT_THROW(order(deep_a, deep_b), TemplateLimitError);
    EXPECT_TRUE(values_equal(deep_a, deep_a));  // the same value, whatever its depth
    // Ordering nested lists compares each level once, not once per enclosing level.
    const Value a = nest(30'000, 1);
    const Value b = nest(30'000, 2);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(order(a, b, 100'000), -1);
    EXPECT_FALSE(values_equal(a, b, 100'000));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took.count(), 1.0);
    EXPECT_EQ(render("{{ [[1, [2]], [1, [3]]]|sort|first }} {{ [[1], [1, 0]]|max }}"),
              "[1, [2]] [1, 0]");
}

TEST(ChatLimits, SelfReferentialNamespaceCannotHangPrinting) {
    EXPECT_THROW(render("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns.me|tojson }}"),
                 TemplateRenderError);
    EXPECT_NO_THROW(render("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns.me }}"));
}

TEST(ChatLimits, OversizedTemplateIsRejectedAtParse) {
    Limits limits;
    limits.max_template_bytes = 10;
    EXPECT_THROW(Template::parse("{{ 'this is too long' }}", limits), TemplateSyntaxError);
}

TEST(ChatLimits, GarbageSourcesNeverCrashTheParser) {
    const char* inputs[] = {"{{",
                            "{%",
                            "{#",
                            "}}",
                            "{{ }}",
                            "{% %}",
                            "{{ 'unterminated }}",
                            "{{ 1.e }}",
                            "{{ x[ }}",
                            "{{ x. }}",
                            "{% for %}",
                            "{% set %}",
                            "{% macro %}",
                            "{{ \"\\x4\" }}",
                            "\xff\xfe{{ 1 }}",
                            "{% endif %}",
                            "{{ 0x }}",
                            "{% if %}{% endif %}"};
    for (const char* s : inputs) {
        try {
            Template::parse(s).render(DictData{});
        } catch (const TemplateError&) {
        }
    }
}

TEST(ChatLimits, EveryStringAndListProducerStaysWithinTheSizeBound) {
    // Each once built its whole result first: a 60 MB string's characters as a list,
    // split into 30 million parts, or printed inside a list a hundred times.
    Limits limits;
    limits.max_output_bytes = 1000;  // strings up to 1000 bytes, lists up to 31 items
    const auto fits = [&](const std::string& source) { return render(source, {}, limits); };
    const auto too_large = [&](const std::string& source) {
        EXPECT_THROW(render(source, {}, limits), TemplateLimitError) << source;
    };
    EXPECT_EQ(fits("{{ ('x' * 31)|list|length }}"), "31");
    too_large("{{ ('x' * 32)|list|length }}");
    too_large("{% for c in 'x' * 100 %}{% endfor %}");
    too_large("{{ ('x' * 100)|first }}");
    EXPECT_EQ(fits("{{ range(31)|length }}"), "31");
    too_large("{{ range(32)|length }}");
    EXPECT_EQ(fits("{{ ([1] * 15 + [2] * 16)|length }}"), "31");
    too_large("{{ ([1] * 16 + [2] * 16)|length }}");

    EXPECT_EQ(fits("{{ ('x' * 100).join('abc')|length }}"), "203");
    too_large("{{ ('x' * 600).join('abc')|length }}");
    EXPECT_EQ(fits("{{ ('{0}' * 2).format('x' * 400)|length }}"), "800");
    too_large("{{ ('{0}' * 3).format('x' * 400)|length }}");
    too_large("{{ '{0}'.format(['x' * 400] * 3)|length }}");
    EXPECT_EQ(fits("{{ (('%s' * 2) % ((('x' * 400),) * 2))|length }}"), "800");
    too_large("{{ (('%s' * 3) % ((('x' * 400),) * 3))|length }}");
    too_large("{{ ('%r' % ((['x' * 400] * 3),))|length }}");

    EXPECT_EQ(fits("{{ ('a ' * 31).split()|length }}"), "31");
    too_large("{{ ('a ' * 32).split()|length }}");
    too_large("{{ ('a,' * 40).split(',')|length }}");
    too_large("{{ ('a,' * 40).rsplit(',')|length }}");
    EXPECT_EQ(
        fits("{{ ('a,' * 40).split(',', 5)|length }} {{ ('a,' * 40).rsplit(',', 5)|length }}"),
        "6 6");
    EXPECT_EQ(fits("{{ ('a\n' * 31).splitlines()|length }}"), "31");
    too_large("{{ ('a\n' * 32).splitlines()|length }}");
    too_large("{{ ('x\n' * 20)|indent(100)|length }}");
    too_large("{{ ('\n' * 40)|indent|length }}");

    too_large("{{ (['x' * 400] * 3)|string|length }}");
    too_large("{{ ({'a': 'x' * 400, 'b': 'x' * 400, 'c': 'x' * 400})|string|length }}");
    too_large("{{ (['x' * 400] * 3)|tojson|length }}");
    too_large("{{ [[1]]|tojson(indent=300)|length }}");
    EXPECT_EQ(fits("{{ [[1]]|tojson(indent=2)|length }}"), "17");
}

TEST(ChatLimits, ReplaceCannotGrowPastTheOutputLimit) {
    Limits limits;
    limits.max_output_bytes = 1000;
    // 101 insertions of 10 bytes around 100 characters: 1110 bytes.
    EXPECT_THROW(render("{{ ('x' * 100).replace('', 'yyyyyyyyyy') }}", {}, limits),
                 TemplateLimitError);
    EXPECT_THROW(render("{{ ('x' * 100) | replace('', 'yyyyyyyyyy') }}", {}, limits),
                 TemplateLimitError);
    EXPECT_EQ(render("{{ ('x' * 10) | replace('', 'y') }}", {}, limits).size(), 21U);
}
