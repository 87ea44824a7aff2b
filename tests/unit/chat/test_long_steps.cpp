// The render's deadline is read between steps, so each step (an operator, a filter, a
// method) must take time linear in its operands or read the deadline as it goes: a
// step that runs for hours is otherwise never stopped. Each also keeps its working
// memory within the bound of what it builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "chat/error.hpp"
#include "chat/pystr.hpp"
#include "render_helper.hpp"

using namespace pensieve::chat;
using pensieve::chat::testing::render;
using pensieve::chat::testing::seconds_to_render;

namespace {

// 4x the input may cost ~4x (n log n), never ~16x (quadratic).
void expect_linear(const std::function<std::string(std::size_t)>& source, std::size_t n) {
    const double t_small = seconds_to_render(Template::parse(source(n)));
    const double t_big = seconds_to_render(Template::parse(source(4 * n)));
    EXPECT_LT(t_big, 10 * t_small + 0.05)
        << source(n) << ": " << t_small << " s -> " << t_big << " s";
}

}  // namespace

TEST(ChatLongSteps, RepeatingNothingEndsAtOnce) {
    // Once a loop of 10**18 appends of nothing, unchecked.
    EXPECT_EQ(render("{{ ('' * 1000000000000000000)|length }}"), "0");
    EXPECT_EQ(render("{{ ([] * 1000000000000000000)|length }}"), "0");
    EXPECT_EQ(render("{{ (() * 1000000000000000000)|length }}"), "0");
    EXPECT_EQ(render("{{ (c * 1000000000000000000)|length }}", {{"c", ""}}), "0");
    EXPECT_EQ(render("{{ 'ab' * 3 }} {{ [1, 2] * 2 }} {{ 3 * (1,) }} {{ 'x' * 0 }}{{ [1] * -1 }}"),
              "ababab [1, 2, 1, 2] (1, 1, 1) []");
}

TEST(ChatLongSteps, SubstringSearchesAreLinear) {
    // A needle that matches everywhere but at its last byte: comparing it at every
    // candidate is quadratic ('a' * 20000000 ~ 'b' in 'a' * 60000000 ran for hours).
    const char* uses[] = {
        "{{ n in h }}",
        "{{ h.find(n) }}",
        "{{ h.rfind(n) }}",
        "{{ h.count(n) }}",
        "{{ h.replace(n, 'x')|length }}",
        "{{ h|replace(n, 'x')|length }}",
        "{{ h.split(n)|length }}",
        "{{ h.rsplit(n, 1)|length }}",
    };
    for (const char* use : uses) {
        expect_linear(
            [&](std::size_t n) {
                return "{% set h = 'a' * " + std::to_string(n) + " %}{% set n = 'a' * " +
                       std::to_string(n / 2) + " ~ 'b' %}" + use;
            },
            40'000);
    }
    EXPECT_EQ(render("{% set s = 'abcabcab' %}{{ 'cab' in s }} {{ s.find('cab') }} "
                     "{{ s.rfind('cab') }} {{ s.count('ab') }} {{ s.replace('ab', '-') }} "
                     "{{ s.split('ca') }} {{ s.rsplit('b', 2) }} {{ 'aaa'.rsplit('aa', 1) }} "
                     "{{ s.rfind('') }} {{ s.find('x') }}"),
              "True 2 5 3 -c-c- ['ab', 'b', 'b'] ['abca', 'ca', ''] ['a', ''] 8 -1");
}

TEST(ChatLongSteps, StrippingManyCharactersIsLinear) {
    // Each code point was looked up in a list of all the characters to strip.
    const char* uses[] = {"{{ h.strip(c)|length }}", "{{ h.lstrip(c)|length }}",
                          "{{ h.rstrip(c)|length }}", "{{ h|trim(c)|length }}"};
    for (const char* use : uses) {
        expect_linear(
            [&](std::size_t n) {
                return "{% set h = 'a' * " + std::to_string(n) + " %}{% set c = 'b' * " +
                       std::to_string(n / 2) + " ~ 'a' %}" + use;
            },
            40'000);
    }
    EXPECT_EQ(render("{{ 'xyéhiéyx'.strip('éxy') }} {{ 'aXbXa'|trim('a') }}"), "hi XbX");
}

TEST(ChatLongSteps, StartswithComparesATuplesStringsInPlace) {
    // A tuple of references to one long string was copied option by option.
    EXPECT_EQ(render("{% set o = 'y' * 1000000 %}{{ 'x'.startswith((o,) * 2000) }} "
                     "{{ 'x'.endswith((o,) * 2000 + ('x',)) }}"),
              "False True");
    // Long comparisons read the clock between options.
    Limits limits;
    limits.max_render_seconds = 0.1;
    EXPECT_THROW(render("{% set s = 'y' * 1000000 %}{% set o = 'y' * 999999 ~ 'z' %}"
                        "{{ s.startswith((o,) * 100000) }}",
                        {}, limits),
                 TemplateLimitError);
}

TEST(ChatLongSteps, IndexingAndSlicingKeepNoTableOfOffsets) {
    // Each once built the offset of every code point (8 bytes per code point of the
    // string); now they walk. Python's answers for 'héllo wörld':
    const std::string s = "{% set s = 'héllo wörld' %}";
    EXPECT_EQ(render(s + "{{ s[1] }}|{{ s[-1] }}|{{ s[1:4] }}|{{ s[::-2] }}|{{ s[::3] }}|"
                         "{{ s[-3:1:-2] }}|{{ s|reverse }}|{{ s[5:2] }}|{{ s[20:] }}"),
              "é|d|éll|drwolh|hlwl|rwol|dlröw olléh||");
    // Steps past int64 arithmetic: the next index is never computed past the end.
    EXPECT_EQ(render(s + "{{ s[::9223372036854775807] }} {{ s[::-9223372036854775807 - 1] }} "
                         "{{ [1, 2, 3][::9223372036854775807] }} "
                         "{{ [1, 2, 3][::-9223372036854775807 - 1] }}"),
              "h d [1] [3]");
    // Walking back splits invalid UTF-8 as walking forward does.
    const std::string bytes = "a\x82\xC3\xA9\xE2\x82";
    std::vector<std::size_t> forward;
    for (std::size_t pos = 0; pos < bytes.size(); pystr::decode(bytes, pos)) forward.push_back(pos);
    std::vector<std::size_t> backward;
    for (std::size_t end = bytes.size(); end > 0; end = pystr::prev_start(bytes, end)) {
        backward.insert(backward.begin(), pystr::prev_start(bytes, end));
    }
    EXPECT_EQ(backward, forward);
}

TEST(ChatLongSteps, AttributePathsAreWalkedInPlace) {
    // '.' * 60000000 became sixty million strings for each item.
    EXPECT_THROW(render("{{ ['a']|map(attribute='.' * 10000000)|list }}"), TemplateRenderError);
    // An index past int64 finds nothing (it threw a C++ out_of_range).
    EXPECT_EQ(render("{{ ([[1]]|map(attribute='99999999999999999999')|first) is undefined }}"),
              "True");
    EXPECT_EQ(render("{{ [{'a': [{'b': 7}]}]|map(attribute='a.0.b')|list }}"), "[7]");
}

TEST(ChatLongSteps, EscapingChecksItsSizeAsItGrows) {
    Limits limits;
    limits.max_output_bytes = 1000;
    // 300 bytes escape to 1200: refused, not built. The same for JSON escapes and repr.
    EXPECT_THROW(render("{{ ('<' * 300)|e|length }}", {}, limits), TemplateLimitError);
    EXPECT_THROW(render("{{ c|tojson|length }}", {{"c", std::string(200, '\x01')}}, limits),
                 TemplateLimitError);
    EXPECT_EQ(render("{{ ('<' * 200)|e|length }} {{ c|tojson|length }}",
                     {{"c", std::string(100, '\x01')}}, limits),
              "800 602");
    EXPECT_LT(pystr::repr(std::string(100'000, '\x01'), 1000).size(), 1100U);
    EXPECT_EQ(pystr::repr("a'\x01"), "\"a'\\x01\"");
}

TEST(ChatLongSteps, SummingStringsIsRefusedAsPythonRefusesIt) {
    // Adding them one at a time copies the running total for every item.
    EXPECT_THROW(render("{{ ['a', 'b']|sum(start='') }}"), TemplateRenderError);
    EXPECT_EQ(render("{{ [1, 2]|sum }} {{ [[1], [2]]|sum(start=[]) }}"), "3 [1, 2]");
}

TEST(ChatLongSteps, LongStepsReadTheClock) {
    // Seconds of work in one expression each; all end at a 0.1 s deadline.
    Limits limits;
    limits.max_render_seconds = 0.1;
    const char* slow[] = {
        "{{ ('x' * 60000000).replace('', '')|length }}",
        "{{ ('é' * 30000000)[::-1]|length }}",
        "{% set a = 'x' * 30000000 %}{% set b = 'x' * 30000000 %}{{ [a] * 500 == [b] * 500 }}",
        "{% set a = 'x' * 30000000 %}{% set b = 'x' * 30000000 %}{{ ([a] * 500)|max|length }}",
    };
    for (const char* source : slow) {
        EXPECT_THROW(render(source, {}, limits), TemplateLimitError) << source;
    }
    EXPECT_EQ(render("{{ 'Hello Wörld'.swapcase() }}"), "hELLO wÖRLD");
}

TEST(ChatLongSteps, SortingKeysForJsonReadsTheClock) {
    // A large mapping from the request, its keys in no order: seconds to sort.
    auto d = std::make_shared<DictData>();
    for (int64_t i = 0; i < 200'000; ++i) {
        d->set(Value::client_string("k" + std::to_string(i * 7919 % 200'000)), Value::integer(i));
    }
    DictData context;
    context.set(Value::string("d"), Value::dict(d));
    Limits limits;
    limits.max_render_seconds = 0.01;
    EXPECT_THROW(Template::parse("{{ d|tojson(sort_keys=true)|length }}", limits).render(context),
                 TemplateLimitError);
    EXPECT_EQ(render("{{ {'b': 1, 'a': [2, {'d': 3, 'c': 4}]}|tojson(sort_keys=true) }}"),
              "{\"a\": [2, {\"c\": 4, \"d\": 3}], \"b\": 1}");
}

TEST(ChatLongSteps, ScopesOfManyNamesFindThemInLogTime) {
    // Binding a macro's parameters, or the names a scope sets, searched the scope for
    // each name: one step of minutes for 200,000 names.
    const auto params = [](std::size_t n) {
        std::string names;
        for (std::size_t i = 0; i < n; ++i) names += ", a" + std::to_string(i);
        return "{% macro f(n" + names + ") %}{{ a" + std::to_string(n - 1) +
               " }}{% endmacro %}{{ f(0) }}{{ f(1, a" + std::to_string(n - 1) + "=2) }}";
    };
    const auto sets = [](std::size_t n) {
        std::string source;
        for (std::size_t i = 0; i < n; ++i) source += "{% set v" + std::to_string(i) + " = 1 %}";
        return source + "{{ v0 + v" + std::to_string(n - 1) + " }}";
    };
    expect_linear(params, 5000);
    expect_linear(sets, 5000);
    EXPECT_EQ(render(sets(100)), "2");
    EXPECT_EQ(render(params(100)), "2");  // a99 is undefined, then 2
    EXPECT_EQ(
        render("{% macro f(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ f(1) }}{{ f(b=3, a=4) }}"),
        "1243");
}

TEST(ChatLongSteps, FormatFindsNamedFieldsByName) {
    // Each field scanned every keyword: '{z}' * n with n keywords is n * n.
    expect_linear(
        [](std::size_t n) {
            std::string keywords;
            for (std::size_t i = 0; i < n; ++i) keywords += "a" + std::to_string(i) + "=1, ";
            return "{{ ('{z}' * " + std::to_string(n) + ").format(" + keywords + "z=2)|length }}";
        },
        5000);
    EXPECT_EQ(render("{{ '{b}{a}{b}{0}'.format(7, a=1, b=2) }}"), "2127");
}
