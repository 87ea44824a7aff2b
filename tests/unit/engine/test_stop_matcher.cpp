// Stop strings spanning token boundaries are caught and never emitted.
#include <gtest/gtest.h>

#include "engine/stop_matcher.hpp"

namespace pensieve::engine {
namespace {

std::string feed(StopMatcher& m, const std::vector<std::string>& pieces,
                 std::optional<std::string>* matched) {
    std::string out;
    for (const auto& p : pieces) {
        auto r = m.push(p);
        out += r.emit;
        if (r.matched) {
            *matched = r.matched;
            return out;
        }
    }
    return out + m.flush();
}

TEST(StopMatcher, StopStringAcrossPiecesIsNotEmitted) {
    StopMatcher m({"END"});
    std::optional<std::string> matched;
    EXPECT_EQ(feed(m, {"Hello E", "N", "D and more"}, &matched), "Hello ");
    EXPECT_EQ(matched, "END");
}

TEST(StopMatcher, APartialMatchThatFailsIsReleased) {
    StopMatcher m({"END"});
    std::optional<std::string> matched;
    EXPECT_EQ(feed(m, {"EN", "TRY E", "N"}, &matched), "ENTRY EN");
    EXPECT_FALSE(matched);
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
    StopMatcher m({"world", "lo w"});
    std::optional<std::string> matched;
    EXPECT_EQ(feed(m, {"hello world"}, &matched), "hel");
    EXPECT_EQ(matched, "lo w");
}

TEST(StopMatcher, HeldTextIsOnlyAPossibleStopPrefix) {
    StopMatcher m({"\n\nUser:"});
    auto r = m.push("answer\n");
    EXPECT_EQ(r.emit, "answer");
    r = m.push("\nUs");
    EXPECT_EQ(r.emit, "");
    r = m.push("ually");
    EXPECT_EQ(r.emit, "\n\nUsually");
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
    StopMatcher m({});
    EXPECT_EQ(m.push("abc").emit, "abc");
    EXPECT_EQ(m.flush(), "");
}

}  // namespace
}  // namespace pensieve::engine
