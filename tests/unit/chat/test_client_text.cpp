// Which bytes of a render came from the client: the ranges themselves, and how each
// string operation carries them from its inputs to its result. Renders are shown with
// client text between « and », so every expectation reads as the output it describes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "chat/client_text.hpp"
#include "chat/json_io.hpp"
#include "chat/template.hpp"

namespace pensieve::chat {
namespace {

using nlohmann::ordered_json;

// The text with each client range wrapped in « ».
std::string marked(const TrackedText& t) {
    std::string out;
    std::size_t cursor = 0;
    for (const ByteRange& r : t.client.ranges()) {
        out += t.text.substr(cursor, r.begin - cursor);
        out += "«" + t.text.substr(r.begin, r.end - r.begin) + "»";
        cursor = r.end;
    }
    return out + t.text.substr(cursor);
}

// Renders `source` with client variables (every string in `vars` is client text, as
// request JSON is) and returns the marked output.
std::string render_marked(const std::string& source, const ordered_json& vars = {
                                                         {"x", " ab "},
                                                         {"y", "cd"},
                                                     }) {
    DictData context;
    for (const auto& [k, v] : vars.items()) context.set(Value::string(k), from_json(v));
    return marked(Template::parse(source).render_tracked(context));
}

// ---- the ranges --------------------------------------------------------------

TEST(ClientRanges, AdjacentAndOverlappingRangesMerge) {
    ClientRanges r;
    r.add(0, 2);
    r.add(2, 4);
    r.add(3, 5);
    r.add(7, 9);
    r.add(9, 9);  // empty: ignored
    EXPECT_EQ(r.ranges(), (std::vector<ByteRange>{{0, 5}, {7, 9}}));
}

TEST(ClientRanges, SliceClipsAndShiftsToTheSubstring) {
    ClientRanges r;
    r.add(2, 5);
    r.add(8, 12);
    EXPECT_EQ(r.slice(3, 10).ranges(), (std::vector<ByteRange>{{0, 2}, {5, 7}}));
    EXPECT_TRUE(r.slice(5, 8).empty());
    EXPECT_EQ(r.slice(0, 100).ranges(), r.ranges());
}

TEST(ClientRanges, OverlapsAnswersForAnyByteOfTheSpan) {
    ClientRanges r;
    r.add(2, 5);
    EXPECT_TRUE(r.overlaps(4, 9));
    EXPECT_TRUE(r.overlaps(0, 3));
    EXPECT_FALSE(r.overlaps(5, 9));
    EXPECT_FALSE(r.overlaps(0, 2));
    EXPECT_FALSE(r.overlaps(3, 3));
}

TEST(ClientRanges, TemplateTextHasNoRanges) {
    EXPECT_TRUE(Value::string("<|im_start|>").client_ranges().empty());
    EXPECT_TRUE(ClientRanges::whole(0).empty());
    EXPECT_EQ(Value::client_string("abc").client_ranges().ranges(),
              (std::vector<ByteRange>{{0, 3}}));
}

TEST(ClientRanges, RequestJsonIsClientTextKeysIncluded) {
    const Value v = from_json(ordered_json{{"k", "v"}, {"n", 1}});
    for (const auto& [key, value] : v.dict().items()) {
        EXPECT_FALSE(key.client_ranges().empty());
        if (value.is_string()) {
            EXPECT_FALSE(value.client_ranges().empty());
        }
    }
}

// ---- printing and concatenation ----------------------------------------------

TEST(ClientTextPropagation, PrintedValuesKeepTheirOrigin) {
    EXPECT_EQ(render_marked("<{{ y }}>{{ 'lit' }}"), "<«cd»>lit");
}

TEST(ClientTextPropagation, ConcatenationKeepsEachPart) {
    EXPECT_EQ(render_marked("{{ '<' + y + '>' }}|{{ '(' ~ y ~ ')' }}"), "<«cd»>|(«cd»)");
    EXPECT_EQ(render_marked("{{ y + y }}"), "«cdcd»");
}

TEST(ClientTextPropagation, RepetitionRepeatsTheRanges) {
    EXPECT_EQ(render_marked("{{ y * 2 }}|{{ '-' * 2 ~ y }}"), "«cdcd»|--«cd»");
}

TEST(ClientTextPropagation, ContainersPrintWithTheirClientStringsMarked) {
    EXPECT_EQ(render_marked("{{ [y, 'k'] }}"), "[«'cd'», 'k']");
    EXPECT_EQ(render_marked("{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}",
                            {{"m", {{"k", "v"}, {"n", 1}}}}),
              "«k»=«v»;«n»=1;");
}

// ---- strip and trim ----------------------------------------------------------

TEST(ClientTextPropagation, TrimKeepsTheClientBytesThatRemain) {
    EXPECT_EQ(render_marked("<{{ x | trim }}>"), "<«ab»>");
    EXPECT_EQ(render_marked("{{ ('  <' ~ x ~ '>  ') | trim }}"), "<« ab »>");
}

TEST(ClientTextPropagation, StripMethodsKeepTheClientBytesThatRemain) {
    EXPECT_EQ(render_marked("{{ x.strip() }}|{{ x.lstrip() }}|{{ x.rstrip() }}"),
              "«ab»|«ab »|« ab»");
    EXPECT_EQ(render_marked("{{ ('--' ~ y ~ '-+').strip('-') }}"), "«cd»-+");
    EXPECT_EQ(render_marked("{{ ('zz' ~ y ~ 'zz') | trim('z') }}"), "«cd»");
}

TEST(ClientTextPropagation, RemovePrefixAndSuffixKeepTheRest) {
    EXPECT_EQ(render_marked("{{ (y ~ 'Z').removesuffix('Z') }}|{{ ('A' ~ y).removeprefix('A') }}"),
              "«cd»|«cd»");
}

// ---- slicing and indexing ----------------------------------------------------

TEST(ClientTextPropagation, SlicesKeepTheRangesOfThePickedCharacters) {
    EXPECT_EQ(render_marked("{{ y[1:] }}|{{ ('<' ~ y ~ '>')[1:-1] }}|{{ ('<' ~ y ~ '>')[:2] }}"),
              "«d»|«cd»|<«c»");
    EXPECT_EQ(render_marked("{{ ('<' ~ y ~ '>')[::2] }}|{{ ('ab' ~ y)[::-1] }}"), "<«d»|«dc»ba");
}

TEST(ClientTextPropagation, SlicesCountCodePointsNotBytes) {
    EXPECT_EQ(render_marked("{{ ('é' ~ z)[1:3] }}", {{"z", "€x!"}}), "«€x»");
}

TEST(ClientTextPropagation, IndexingAndIterationYieldClientCharacters) {
    EXPECT_EQ(render_marked("{{ y[0] }}{{ ('<' ~ y)[0] }}{{ y[-1] }}"), "«c»<«d»");
    EXPECT_EQ(render_marked("{% for c in y %}{{ c }}.{% endfor %}"), "«c».«d».");
    EXPECT_EQ(render_marked("{{ y | first }}{{ ms | last }}", {{"y", "cd"}, {"ms", {"a", "b"}}}),
              "«cb»");
}

// ---- replace -----------------------------------------------------------------

TEST(ClientTextPropagation, ReplaceKeepsUntouchedClientBytesAndMarksInsertionsByTheirOrigin) {
    EXPECT_EQ(render_marked("{{ (y ~ '|' ~ y) | replace('|', '<sep>') }}"), "«cd»<sep>«cd»");
    EXPECT_EQ(render_marked("{{ ('<b>' ~ y).replace('c', 'C') }}"), "<b>C«d»");
    EXPECT_EQ(render_marked("{{ 'a-b' | replace('-', y) }}"), "a«cd»b");
    EXPECT_EQ(render_marked("{{ y.replace('', '.') }}"), ".«c».«d».");
    EXPECT_EQ(render_marked("{{ (y ~ y).replace('c', 'X', 1) }}"), "X«dcd»");
}

// ---- split, join -------------------------------------------------------------

TEST(ClientTextPropagation, SplitPartsKeepTheirRanges) {
    EXPECT_EQ(render_marked("{{ ('<' ~ x ~ '>').split() | join('|') }}"), "<|«ab»|>");
    EXPECT_EQ(render_marked("{{ ('L1\n' ~ y ~ '\nL3').splitlines() | join(',') }}"), "L1,«cd»,L3");
    EXPECT_EQ(render_marked("{{ (y ~ '/t/u').rsplit('/', 1)[0] }}"), "«cd»/t");
    EXPECT_EQ(render_marked("{{ (x ~ 'q r').rsplit(None, 1)[0] }}"), "« ab »q");
    EXPECT_EQ(render_marked("{{ ('<think>' ~ y).split('<think>')[-1] }}"), "«cd»");
}

TEST(ClientTextPropagation, JoinKeepsItemsAndSeparators) {
    EXPECT_EQ(render_marked("{{ '+'.join(['<', y]) }}"), "<+«cd»");
    EXPECT_EQ(render_marked("{{ ['a', 'b'] | join(y) }}"), "a«cd»b");
    EXPECT_EQ(render_marked("{{ ms | join(', ', attribute='t') }}",
                            {{"ms", {{{"t", "a"}}, {{"t", "b"}}}}}),
              "«a», «b»");
}

// ---- formatting --------------------------------------------------------------

TEST(ClientTextPropagation, FormatKeepsTheFormatTextAndEachArgument) {
    EXPECT_EQ(render_marked("{{ '<{}>'.format(y) }}|{{ '{a}={0}'.format(1, a=y) }}"),
              "<«cd»>|«cd»=1");
    EXPECT_EQ(render_marked("{{ ('{}' ~ y).format('T') }}"), "T«cd»");
}

TEST(ClientTextPropagation, PercentFormatKeepsTheFormatTextAndEachArgument) {
    EXPECT_EQ(render_marked("{{ '<%s>' % y }}|{{ '%s|%d' % (y, 3) }}|{{ (y ~ ' %s') % 'T' }}"),
              "<«cd»>|«cd»|3|«cd» T");
    EXPECT_EQ(render_marked("{{ '%s' | format(y) }}"), "«cd»");
}

TEST(ClientTextPropagation, TojsonMarksEachClientStringLiteral) {
    EXPECT_EQ(render_marked("{{ m | tojson }}", {{"m", {{"k", "v<|x|>"}, {"n", 1}}}}),
              "{«\"k\"»: «\"v<|x|>\"», «\"n\"»: 1}");
    EXPECT_EQ(render_marked("{{ {'a': y, 'b': 'lit'} | tojson }}"),
              "{\"a\": «\"cd\"», \"b\": \"lit\"}");
    EXPECT_EQ(render_marked("{{ (m | tojson)[:-1] }}", {{"m", {{"k", "v"}}}}), "{«\"k\"»: «\"v\"»");
}

TEST(ClientTextPropagation, TojsonWithClientLayoutIsClientTextThroughout) {
    EXPECT_EQ(render_marked("{{ {'a': 1} | tojson(indent=y) }}"), "«{\ncd\"a\": 1\n}»");
}

TEST(ClientTextPropagation, IndentKeepsTheLinesAndMarksAClientPad) {
    EXPECT_EQ(render_marked("{{ ('h\n' ~ y ~ '\n') | indent(2) }}"), "h\n  «cd»\n");
    EXPECT_EQ(render_marked("{{ 'a\nb' | indent(y, first=true) }}"), "«cd»a\n«cd»b");
}

// ---- operations that do not track bytes: all client text when any byte was ------

TEST(ClientTextPropagation, CaseChangesMarkTheWholeResultWhenAnyByteWasClientText) {
    EXPECT_EQ(render_marked("{{ ('<' ~ y ~ '>') | upper }}|{{ '<b>' | upper }}"), "«<CD>»|<B>");
    EXPECT_EQ(render_marked("{{ ('<' ~ y).lower() }}|{{ ('a ' ~ y) | title }}"), "«<cd»|«A Cd»");
    EXPECT_EQ(render_marked("{{ ('a' ~ y) | capitalize }}|{{ ('a' ~ y).swapcase() }}"),
              "«Acd»|«ACD»");
}

TEST(ClientTextPropagation, EscapeAndReverseMarkTheWholeResultWhenAnyByteWasClientText) {
    EXPECT_EQ(render_marked("{{ ('<' ~ y) | e }}|{{ ('<' ~ y) | reverse }}"), "«&lt;cd»|«dc<»");
}

// ---- captured output ---------------------------------------------------------

TEST(ClientTextPropagation, CapturedBlocksKeepTheirRanges) {
    EXPECT_EQ(render_marked("{% set s %} <{{ y }}> {% endset %}{{ s | trim }}"), "<«cd»>");
    EXPECT_EQ(render_marked("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m(y) }}"), "[«cd»]");
    EXPECT_EQ(render_marked("{% filter upper %}<{{ y }}>{% endfilter %}"), "«<CD>»");
    EXPECT_EQ(render_marked("{% macro m() %}({{ caller() }}){% endmacro %}"
                            "{% call m() %}{{ y }}{% endcall %}"),
              "(«cd»)");
}

TEST(ClientTextPropagation, NamespacesJoinersAndDefaultsPassValuesThrough) {
    EXPECT_EQ(render_marked("{% set ns = namespace(s='') %}{% for m in ms %}"
                            "{% set ns.s = ns.s + m + ';' %}{% endfor %}{{ ns.s }}",
                            {{"ms", {"a", "b"}}}),
              "«a»;«b»;");
    EXPECT_EQ(render_marked("{% set j = joiner(y) %}{{ j() }}a{{ j() }}b"), "a«cd»b");
    EXPECT_EQ(render_marked("{{ missing | default(y) }}"), "«cd»");
}

TEST(ClientTextPropagation, NumbersAndTemplateLiteralsAreNotClientText) {
    EXPECT_EQ(render_marked("{{ y | length }}{{ 1 + 2 }}{{ y == 'cd' }}{{ 'lit' }}"), "23Truelit");
}

}  // namespace
}  // namespace pensieve::chat
