// Web pull sources, split names, quantization choice and header values.
#include "registry/web_source.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace pensieve::registry {
namespace {

TEST(WebSource, KnownNamesAreNotWebSources) {
    EXPECT_FALSE(parse_web_source("").has_value());
    EXPECT_FALSE(parse_web_source("gemma3-270m-q4_k_m").has_value());
    EXPECT_FALSE(parse_web_source("smollm2").has_value());
}

TEST(WebSource, HfFileWithAndWithoutRevision) {
    auto s =
        parse_web_source("hf://Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, WebSource::Kind::HfFile);
    EXPECT_EQ(s->owner, "Qwen");
    EXPECT_EQ(s->repo, "Qwen2.5-0.5B-Instruct-GGUF");
    EXPECT_EQ(s->revision, "main");
    EXPECT_EQ(s->file, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
    EXPECT_EQ(hf_resolve_url("https://huggingface.co", *s, s->file),
              "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/"
              "qwen2.5-0.5b-instruct-q4_k_m.gguf");

    s = parse_web_source("hf://o/r@v1.2/sub/dir/m-Q8_0.gguf");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->revision, "v1.2");
    EXPECT_EQ(s->file, "sub/dir/m-Q8_0.gguf");
    EXPECT_EQ(s->file_name(), "m-Q8_0.gguf");
}

TEST(WebSource, QuantForms) {
    auto s = parse_web_source("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, WebSource::Kind::HfQuant);
    EXPECT_EQ(s->quant, "Q4_K_M");
    EXPECT_EQ(hf_model_info_url("http://h", *s),
              "http://h/api/models/bartowski/Llama-3.2-1B-Instruct-GGUF");
    s = parse_web_source("hf://o/r@abc123:iq2_xxs");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, WebSource::Kind::HfQuant);
    EXPECT_EQ(s->revision, "abc123");
    EXPECT_EQ(hf_model_info_url("http://h", *s), "http://h/api/models/o/r/revision/abc123");
}

TEST(WebSource, Urls) {
    auto s = parse_web_source("https://example.com/models/a-Q4_0.gguf?download=true");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, WebSource::Kind::Url);
    EXPECT_EQ(s->file_name(), "a-Q4_0.gguf");
    EXPECT_TRUE(parse_web_source("HTTP://example.com/x.GGUF"));
}

TEST(WebSource, MalformedSourcesThrow) {
    for (const char* bad : {"hf://",
                            "hf://owner",
                            "hf://o/r",
                            "hf://o/r/",
                            "hf://o/r/a.txt",
                            "hf://o/r/../x.gguf",
                            "hf://o/r//x.gguf",
                            "hf://o/r/./x.gguf",
                            "hf://.o/r/x.gguf",
                            "hf://o/r@/x.gguf",
                            "hf://o/r:",
                            "o/r",
                            "o/r:Q4 K",
                            "o/r:Q4/K",
                            "a/b/c:Q4_0",
                            "https://example.com",
                            "https://example.com/",
                            "https://x/y.bin",
                            "hf://o/r/x y.gguf",
                            "hf://o/r@a/b/x.gguf:Q4"}) {
        EXPECT_THROW(parse_web_source(bad), std::invalid_argument) << bad;
    }
    EXPECT_THROW(parse_web_source(std::string(4096, 'a') + "/b:Q4_0"), std::invalid_argument);
}

TEST(SplitName, ParsesAndFormats) {
    const auto s = parse_split_name("Qwen2.5-72B-Q4_K_M-00002-of-00012.gguf");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->prefix, "Qwen2.5-72B-Q4_K_M");
    EXPECT_EQ(s->index, 2);
    EXPECT_EQ(s->count, 12);
    EXPECT_EQ(split_part_name(*s, 1), "Qwen2.5-72B-Q4_K_M-00001-of-00012.gguf");
    EXPECT_FALSE(parse_split_name("model-Q4_K_M.gguf"));
    EXPECT_FALSE(parse_split_name("m-00003-of-00002.gguf"));  // index past count
    EXPECT_FALSE(parse_split_name("m-00000-of-00002.gguf"));
    EXPECT_FALSE(parse_split_name("m-1-of-00002.gguf"));  // widths differ
    EXPECT_FALSE(parse_split_name("-00001-of-00002.gguf"));
    EXPECT_FALSE(parse_split_name("m-00001-of-00002.bin"));
}

TEST(QuantSelection, PicksTheFileCaseInsensitively) {
    const std::vector<std::string> files = {
        ".gitattributes",
        "README.md",
        "m-Q4_K_M.gguf",
        "m-Q4_K_S.gguf",
        "m.Q8_0.gguf",
        "mmproj-m-Q8_0.gguf",
        "big/m-F16-00001-of-00002.gguf",
        "big/m-F16-00002-of-00002.gguf",
    };
    EXPECT_EQ(select_quant_file(files, "q4_k_m"), "m-Q4_K_M.gguf");
    EXPECT_EQ(select_quant_file(files, "Q8_0"), "m.Q8_0.gguf");  // mmproj skipped
    EXPECT_EQ(select_quant_file(files, "f16"), "big/m-F16-00001-of-00002.gguf");
    EXPECT_EQ(available_quants(files),
              (std::vector<std::string>{"F16", "Q4_K_M", "Q4_K_S", "Q8_0"}));
    try {
        select_quant_file(files, "K_M");  // only whole suffixes after '-' or '.'
        ADD_FAILURE();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("available: F16, Q4_K_M, Q4_K_S, Q8_0"),
                  std::string::npos)
            << e.what();
    }
}

TEST(QuantSelection, ListedNamesThatAreNotSafePathsAreSkipped) {
    using namespace std::string_literals;
    const std::vector<std::string> bad = {
        "../../../../escape/x-Q4_K_M.gguf",
        "/etc/x-Q4_K_M.gguf",
        "d/./x-Q4_K_M.gguf",
        "x?y=1#-Q4_K_M.gguf",
        "a\r\nX-Evil: 1\r\n-Q4_K_M.gguf",
        "victim.gguf\0-Q4_K_M.gguf"s,
        "x%2F..%2Fy-Q4_K_M.gguf",
        std::string(5000, 'a') + "-Q4_K_M.gguf",
    };
    for (const std::string& name : bad) {
        // Beside a good name, the bad one is ignored (not "several files").
        EXPECT_EQ(select_quant_file({name, "m-Q4_K_M.gguf"}, "Q4_K_M"), "m-Q4_K_M.gguf") << name;
        try {
            select_quant_file({name}, "Q4_K_M");
            ADD_FAILURE() << name;
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("no usable .gguf file with quantization 'Q4_K_M'"),
                      std::string::npos)
                << what;
            EXPECT_EQ(what.find_first_of("\r\n"s + '\0'), std::string::npos) << what;
            EXPECT_LT(what.size(), 400u) << what;
        }
    }
    try {
        select_quant_file({"victim.gguf\0-Q4_K_M.gguf"s}, "Q4_K_M");
        ADD_FAILURE();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("'victim.gguf\\x00-Q4_K_M.gguf'"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(available_quants({"../x-Q2_K.gguf", "m-Q8_0.gguf"}),
              std::vector<std::string>{"Q8_0"});
}

TEST(WebSource, ResolveUrlsPercentEncodeEveryPathSegment) {
    const auto s = parse_web_source("hf://o/r/m-Q8_0.gguf");
    ASSERT_TRUE(s);
    EXPECT_EQ(hf_resolve_url("http://h", *s, "sub/m+v2-Q8_0.gguf"),
              "http://h/o/r/resolve/main/sub/m%2Bv2-Q8_0.gguf");
    EXPECT_EQ(hf_resolve_url("http://h", *s, "x?y=1#-Q4 K.gguf"),
              "http://h/o/r/resolve/main/x%3Fy%3D1%23-Q4%20K.gguf");
    EXPECT_EQ(hf_resolve_url("http://h", *s, std::string("a\r\n\0b.gguf", 10)),
              "http://h/o/r/resolve/main/a%0D%0A%00b.gguf");
}

TEST(QuantSelection, AmbiguousAndEmptyListsAreErrors) {
    try {
        select_quant_file({"a-Q4_0.gguf", "b-Q4_0.gguf"}, "Q4_0");
        ADD_FAILURE();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("several files: a-Q4_0.gguf, b-Q4_0.gguf"),
                  std::string::npos);
    }
    EXPECT_THROW(select_quant_file({}, "Q4_0"), std::runtime_error);
}

TEST(FileList, ModelInfoAndTreeShapes) {
    EXPECT_EQ(parse_model_file_list(R"({"siblings":[{"rfilename":"a.gguf"},{"x":1},3,
              {"rfilename":7},{"rfilename":"b/c.gguf"}]})"),
              (std::vector<std::string>{"a.gguf", "b/c.gguf"}));
    EXPECT_EQ(parse_model_file_list(R"([{"type":"file","path":"a.gguf"},
              {"type":"directory","path":"d"}])"),
              (std::vector<std::string>{"a.gguf"}));
    for (const char* bad : {"", "{", "null", "\"x\"", "{}", R"({"siblings":{}})"}) {
        EXPECT_THROW(parse_model_file_list(bad), std::runtime_error) << bad;
    }
}

TEST(Headers, EtagsAndRanges) {
    const std::string hex(64, 'A');
    EXPECT_EQ(sha256_from_etag("\"" + hex + "\""), std::string(64, 'a'));
    EXPECT_EQ(sha256_from_etag("W/\"" + hex + "\""), std::string(64, 'a'));
    EXPECT_EQ(sha256_from_etag(hex), std::string(64, 'a'));
    EXPECT_FALSE(sha256_from_etag("\"a3f1c0ffee0123456789abcdef0123456789abcd\""));  // SHA-1
    EXPECT_FALSE(sha256_from_etag("\"" + std::string(63, 'a') + "g\""));
    EXPECT_FALSE(sha256_from_etag("\""));

    EXPECT_EQ(total_from_content_range("bytes 100-999/1000"), 1000u);
    EXPECT_EQ(start_from_content_range("bytes 100-999/1000"), 100u);
    EXPECT_FALSE(total_from_content_range("bytes */1000x"));
    EXPECT_FALSE(total_from_content_range("bytes 0-1/*"));
    EXPECT_FALSE(start_from_content_range("items 0-1/2"));
    EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
    EXPECT_FALSE(parse_u64("18446744073709551616"));
    EXPECT_FALSE(parse_u64("-1"));
    EXPECT_FALSE(parse_u64(""));
}

}  // namespace
}  // namespace pensieve::registry
