// The pure parts of serving several models: glob patterns, the alias file
// (a bad one is a clear error, never a crash), memory sizes, and which
// loaded model is unloaded first.
#include <gtest/gtest.h>

#include "server/model_aliases.hpp"

using namespace pensieve::server;

TEST(GlobMatch, StarsAndQuestionMarks) {
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "anything at all"));
    EXPECT_TRUE(glob_match("claude-*haiku*", "claude-3-5-haiku-20241022"));
    EXPECT_TRUE(glob_match("claude-*haiku*", "claude-haiku-4-5"));
    EXPECT_FALSE(glob_match("claude-*haiku*", "claude-sonnet-4-5"));
    EXPECT_FALSE(glob_match("claude-*haiku*", "my-claude-haiku"));
    EXPECT_TRUE(glob_match("gpt-?o", "gpt-4o"));
    EXPECT_FALSE(glob_match("gpt-?o", "gpt-4oo"));
    EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXXbYYbZ"));
    EXPECT_TRUE(glob_match("exact", "exact"));
    EXPECT_FALSE(glob_match("exact", "exactly"));
    EXPECT_FALSE(glob_match("", "x"));
    EXPECT_TRUE(glob_match("", ""));
    EXPECT_TRUE(glob_match("**", "x"));
}

TEST(GlobMatch, IgnoresAsciiCase) {
    EXPECT_TRUE(glob_match("Claude-*HAIKU*", "claude-3-haiku"));
    EXPECT_TRUE(glob_match("qwen*", "Qwen2.5-Coder"));
}

TEST(GlobMatch, NoBlowUpOnManyStars) {
    // A backtracking matcher is exponential here; this one is not.
    const std::string text(2000, 'a');
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(AliasConfig, KeepsTheFileOrder) {
    const auto rules = parse_alias_config(
        R"({"aliases": {"claude-*haiku*": "small", "gpt-*": "big", "*": "big"}})", "a.json");
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0].pattern, "claude-*haiku*");
    EXPECT_EQ(rules[0].target, "small");
    EXPECT_EQ(rules[2].pattern, "*");
    EXPECT_EQ(match_alias(rules, "claude-3-5-haiku-latest"), "small");
    EXPECT_EQ(match_alias(rules, "claude-sonnet-4"), "big");
    EXPECT_EQ(match_alias(rules, "gpt-4o"), "big");
}

TEST(AliasConfig, NoMatchWithoutACatchAll) {
    const auto rules = parse_alias_config(R"({"aliases": {"claude-*": "m"}})", "a.json");
    EXPECT_EQ(match_alias(rules, "claude-x"), "m");
    EXPECT_EQ(match_alias(rules, "llama"), std::nullopt);
    EXPECT_EQ(match_alias({}, "llama"), std::nullopt);
}

TEST(AliasConfig, EmptyTableIsAllowed) {
    EXPECT_TRUE(parse_alias_config(R"({"aliases": {}})", "a.json").empty());
    EXPECT_TRUE(parse_alias_config(R"({})", "a.json").empty());
}

// Each bad file is an AliasConfigError naming the file and the fault.
void expect_error(const std::string& text, const std::string& says) {
    try {
        parse_alias_config(text, "my-aliases.json");
        FAIL() << "accepted: " << text;
    } catch (const AliasConfigError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("my-aliases.json"), std::string::npos) << what;
        EXPECT_NE(what.find(says), std::string::npos) << what;
    }
}

TEST(AliasConfig, BadFilesAreClearErrors) {
    expect_error("", "not valid JSON");
    expect_error("{\"aliases\": {\"a\": \"b\"", "not valid JSON");
    expect_error("[1, 2]", "must be a JSON object");
    expect_error("\"aliases\"", "must be a JSON object");
    expect_error(R"({"aliases": ["a", "b"]})", "must be an object");
    expect_error(R"({"aliases": {"a": 3}})", "must map to a model name");
    expect_error(R"({"aliases": {"a": ""}})", "must map to a model name");
    expect_error(R"({"aliases": {"": "m"}})", "pattern is empty");
    expect_error(R"({"alias": {"a": "m"}})", "unknown key \"alias\"");
}

TEST(MemorySize, Units) {
    EXPECT_EQ(parse_memory_size("512MiB"), int64_t{512} << 20);
    EXPECT_EQ(parse_memory_size("512M"), int64_t{512} << 20);
    EXPECT_EQ(parse_memory_size("512mb"), int64_t{512} << 20);
    EXPECT_EQ(parse_memory_size("4096"), int64_t{4096} << 20);
    EXPECT_EQ(parse_memory_size("8GiB"), int64_t{8} << 30);
    EXPECT_EQ(parse_memory_size("8g"), int64_t{8} << 30);
    EXPECT_EQ(parse_memory_size("2T"), int64_t{2} << 40);
    EXPECT_EQ(parse_memory_size("64K"), int64_t{64} << 10);
}

TEST(MemorySize, BadSizesThrow) {
    for (const char* bad : {"", "GiB", "-1G", "0", "0GiB", "1.5G", "12 XB", "8Gx", "1B",
                            "99999999999999999999G", "9000000T"}) {
        EXPECT_THROW(parse_memory_size(bad), std::invalid_argument) << bad;
    }
}

TEST(ChooseUnload, LeastRecentlyUsedIdleModel) {
    EXPECT_EQ(choose_unload({}), std::nullopt);
    EXPECT_EQ(choose_unload({{false, 5}, {false, 2}, {false, 9}}), 1u);
    // The oldest is busy: the next oldest idle one goes.
    EXPECT_EQ(choose_unload({{false, 5}, {true, 2}, {false, 9}}), 0u);
    // Every one busy: none.
    EXPECT_EQ(choose_unload({{true, 1}, {true, 2}}), std::nullopt);
}
