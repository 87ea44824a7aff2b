// Dict keys of every hashable kind with Python's equality (1 == 1.0 == True), found in
// log time once a dict is large, so that a dict literal of many keys, a dict() copy or a
// comparison of two dicts is n log n, never a linear search per key.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "chat/error.hpp"
#include "chat/ops.hpp"
#include "render_helper.hpp"

using namespace pensieve::chat;
using pensieve::chat::testing::render;
using pensieve::chat::testing::seconds_to_render;

namespace {

// A dict literal of `n` keys made by `key(i)`, then `use` of it as `d`.
std::string dict_source(std::size_t n, const std::function<std::string(std::size_t)>& key,
                        const std::string& use) {
    std::string source = "{% set d = {";
    for (std::size_t i = 0; i < n; ++i) source += (i ? ", " : "") + key(i) + ": " + key(i);
    return source + "} %}" + use;
}

}  // namespace

TEST(ChatDictKeys, ManyKeysOfAnyKindAreBuiltAndComparedInNLogN) {
    const std::function<std::string(std::size_t)> kinds[] = {
        [](std::size_t i) { return std::to_string(i); },
        [](std::size_t i) { return std::to_string(i) + ".5"; },
        [](std::size_t i) { return "(" + std::to_string(i) + ", 'k')"; },
        [](std::size_t i) { return "'k" + std::to_string(i) + "'"; },
    };
    const char* uses[] = {
        "{{ d|length }}",
        "{{ dict(d)|length }}",
        "{{ d == dict(d) }}",
        "{{ d|list|unique|list|length }}",
    };
    for (const auto& key : kinds) {
        for (const char* use : uses) {
            // 4x the keys may cost ~4x (n log n), never ~16x (a search per key).
            const std::size_t n = 3000;
            const double t_small = seconds_to_render(Template::parse(dict_source(n, key, use)));
            const double t_big = seconds_to_render(Template::parse(dict_source(4 * n, key, use)));
            EXPECT_LT(t_big, 10 * t_small + 0.05)
                << key(0) << " keys, " << use << ": " << t_small << " s -> " << t_big << " s";
        }
    }
    EXPECT_EQ(render(dict_source(100'000, kinds[0], "{{ d|length }} {{ d[99999] }}")),
              "100000 99999");
}

TEST(ChatDictKeys, KeysFollowPythonEquality) {
    // Small dicts are searched in order, large ones through the index: both agree.
    for (const int pad : {0, 20}) {
        std::string keys = "{% set d = {";
        for (int i = 0; i < pad; ++i) keys += "'pad" + std::to_string(i) + "': 0, ";
        keys += "1: 'a', 1.0: 'b', True: 'c', 2.5: 'f', (1, 2): 't', none: 'n', 'k': 's'} %}";
        EXPECT_EQ(render(keys + "{{ d[1] }}{{ d[1.0] }}{{ d[true] }}{{ d[2.5] }}{{ d[(1, 2)] }}"
                                "{{ d[none] }}{{ d['k'] }} {{ 2 in d }} {{ (1, 2.0) in d }} "
                                "{{ d|length }}"),
                  "cccftns False True " + std::to_string(pad + 5));
    }
    EXPECT_EQ(render("{{ {1: 'a', 1.0: 'b', True: 'c'} }}"), "{1: 'c'}");
    // int and float compare exactly, as in Python: 2**53 + 1 is not 2.0**53.
    EXPECT_EQ(render("{{ {9007199254740993: 'a', 9007199254740992.0: 'b'}|length }} "
                     "{{ 9007199254740993 == 9007199254740992.0 }} "
                     "{{ 9007199254740992 == 9007199254740992.0 }} "
                     "{{ 9007199254740993 > 9007199254740992.0 }} {{ [3, 1.5, true, 2]|sort }}"),
              "2 False True True [True, 1.5, 2, 3]");
    EXPECT_EQ(render("{{ [3, 1, 3.0, 2, 1, true, 'a', 'a', (1, 2), (1, 2)]|unique|list }}"),
              "[3, 1, 2, 'a', (1, 2)]");
    EXPECT_EQ(render("{{ [[1], [1], [2]]|unique|list }}"), "[[1], [2]]");
}

TEST(ChatDictKeys, UnhashableKeysAreRefusedAsInPython) {
    EXPECT_THROW(render("{{ {[1]: 2} }}"), TemplateRenderError);
    EXPECT_THROW(render("{{ {{}: 2} }}"), TemplateRenderError);
    try {
        render("{{ {(1, [2]): 3} }}");
        ADD_FAILURE() << "a tuple holding a list was accepted as a key";
    } catch (const TemplateRenderError& e) {
        EXPECT_EQ(std::string(e.what()), "unhashable type: 'list'");
    }
    // Looking one up finds nothing rather than failing.
    EXPECT_EQ(render("{{ [1] in {1: 2} }} {{ {1: 2}.get([1], 'none') }}"), "False none");
}

TEST(ChatDictKeys, NumbersCompareExactlyAcrossIntAndFloat) {
    const auto cmp = [](Value a, Value b) { return compare_numbers(a, b); };
    EXPECT_TRUE(cmp(Value::integer(9007199254740993), Value::number(9007199254740992.0)) > 0);
    EXPECT_TRUE(cmp(Value::number(0.5), Value::integer(0)) > 0);
    EXPECT_TRUE(cmp(Value::number(-0.5), Value::integer(0)) < 0);
    EXPECT_TRUE(cmp(Value::number(-1.5), Value::integer(-1)) < 0);
    EXPECT_TRUE(cmp(Value::integer(INT64_MAX), Value::number(9223372036854775808.0)) < 0);
    EXPECT_TRUE(cmp(Value::integer(INT64_MIN), Value::number(-9223372036854775808.0)) == 0);
    EXPECT_TRUE(cmp(Value::boolean(true), Value::number(1.0)) == 0);
    EXPECT_TRUE(cmp(Value::integer(1), Value::number(std::nan(""))) ==
                std::partial_ordering::unordered);
}
