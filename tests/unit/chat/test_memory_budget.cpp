// A render may hold Limits::max_live_bytes at once, however it keeps its values alive
// (a list, namespace attributes, loop copies, the frames of a recursion); strings it
// builds and drops count only while they live.
#include <gtest/gtest.h>

#include "chat/error.hpp"
#include "render_helper.hpp"

using namespace pensieve::chat;
using pensieve::chat::testing::render;

namespace {

Limits one_mib() {
    Limits limits;
    limits.max_live_bytes = std::size_t{1} << 20;
    return limits;
}

// The render stops on the memory budget, not on another bound or the clock.
void expect_over_budget(const std::string& source, const Limits& limits, const char* budget) {
    try {
        render(source, {}, limits);
        ADD_FAILURE() << "rendered within the budget: " << source;
    } catch (const TemplateLimitError& e) {
        EXPECT_EQ(std::string(e.what()), std::string("the template used more than ") + budget)
            << source;
    }
}

}  // namespace

TEST(ChatMemory, ManyLargeStringsKeptAliveStopAtTheBudget) {
    // Each string is within the 64 MB bound; three hundred of them are 18 GB.
    expect_over_budget(
        "{% set ns = namespace(l=[]) %}{% for i in range(300) %}"
        "{% set ns.l = ns.l + ['x' * 60000000 ~ i] %}{% endfor %}{{ ns.l|length }}",
        Limits{}, "256 MiB");
    std::string attributes = "{% set ns = namespace() %}";
    for (int i = 0; i < 300; ++i) {
        attributes +=
            "{% set ns.a" + std::to_string(i) + " = 'x' * 60000000 ~ " + std::to_string(i) + " %}";
    }
    expect_over_budget(attributes, Limits{}, "256 MiB");
}

TEST(ChatMemory, EveryKindOfValueCountsAgainstTheBudget) {
    const Limits limits = one_mib();
    std::string many_params;
    for (int i = 0; i < 2000; ++i) many_params += ", a" + std::to_string(i);
    // 200 KB strings, 4 or 5 of them held at once.
    const std::string held[] = {
        "{% set s = 'x' * 200000 %}{% set l = [s ~ 1, s ~ 2, s ~ 3, s ~ 4, s ~ 5] %}",
        "{% set s = 'x' * 200000 %}{% set d = {1: s ~ 1, 2: s ~ 2, 3: s ~ 3, 4: s ~ 4, 5: s ~ 5}"
        " %}",
        "{% set s = 'x' * 200000 %}{% set ns = namespace(a=s ~ 1, b=s ~ 2, c=s ~ 3, d=s ~ 4, "
        "e=s ~ 5) %}",
        // Item arrays: 80,000 items of 16 bytes, then a second copy.
        "{% set l = [0] * 80000 %}{% set m = l + [1] %}",
        // Many small strings: each has its own storage.
        "{% set l = range(20000)|map('string')|list %}",
        // A recursion that holds a printed buffer per level.
        "{% macro f(n) %}{{ 'x' * 200000 }}{% if n < 10 %}{{ f(n + 1) }}{% endif %}"
        "{% endmacro %}{{ f(0)|length }}",
        // A recursion that holds a loop's copy of its items per level.
        "{% set l = [0] * 20000 %}{% macro f(n) %}{% for x in l %}{% if n < 10 %}{{ f(n + 1) }}"
        "{% endif %}{% break %}{% endfor %}{% endmacro %}{{ f(0) }}",
        // A recursion that binds many parameters per level.
        "{% macro f(n" + many_params +
            ") %}{% if n < 10 %}{{ f(n + 1) }}{% endif %}"
            "{% endmacro %}{{ f(0) }}",
        // The same with a filter that recurses while the items wait.
        "{% set l = [0] * 20000 %}{% macro f(n) %}{% for x in l if n < 10 and f(n + 1) %}"
        "{% endfor %}{% endmacro %}{{ f(0) }}",
    };
    for (const std::string& source : held) expect_over_budget(source, limits, "1 MiB");
}

TEST(ChatMemory, StringsRebuiltInALoopCountOnlyWhileAlive) {
    // 3,000 rebuilds of a string growing to 300 KB: 450 MB built in all, at most the
    // old and the new string alive at once.
    const Limits limits = one_mib();
    EXPECT_EQ(render("{% set ns = namespace(s='') %}{% for i in range(3000) %}"
                     "{% set ns.s = ns.s ~ 'x' * 100 %}{% endfor %}{{ ns.s|length }}",
                     {}, limits),
              "300000");
    EXPECT_EQ(
        render("{% for i in range(1000) %}{% set s = 'x' * 500000 %}{% endfor %}ok", {}, limits),
        "ok");
    EXPECT_EQ(render("{% macro f(n) %}{{ 'x' * 200000 }}{% endmacro %}"
                     "{% for i in range(100) %}{{ f(i)|length }}{% endfor %}",
                     {}, limits)
                  .size(),
              600U);
}

TEST(ChatMemory, TheRequestsOwnValuesAreNotCounted) {
    // Built before the render: a 2 MB message under a 1 MiB budget.
    const nlohmann::ordered_json vars = {
        {"messages", {{{"role", "user"}, {"content", std::string(2'000'000, 'x')}}}}};
    EXPECT_EQ(render("{% for m in messages %}{{ m.content|length }}{% endfor %}", vars, one_mib()),
              "2000000");
}
