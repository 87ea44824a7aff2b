// The embedded web page: every file of web/ is in the binary, byte for byte
// (checked against the source tree), with a media type and a digest; the
// route answers with the security and caching headers.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/web_assets.hpp"
#include "server/web_route.hpp"

namespace pensieve::server {
namespace {

TEST(WebAssets, EveryPageFileIsEmbeddedAsItIs) {
    for (const char* name : {"index.html", "status.html", "style.css", "chat.js", "status.js"}) {
        const EmbeddedFile* file = find_web_file(name);
        ASSERT_NE(file, nullptr) << name;
        std::ifstream in(std::string(PENSIEVE_SOURCE_DIR) + "/web/" + name, std::ios::binary);
        ASSERT_TRUE(in) << name;
        std::stringstream source;
        source << in.rdbuf();
        EXPECT_EQ(
            std::string(reinterpret_cast<const char*>(file->bytes.data()), file->bytes.size()),
            source.str())
            << name;
        EXPECT_EQ(file->sha256.size(), 64u);
    }
    EXPECT_EQ(find_web_file("../CMakeLists.txt"), nullptr);
    EXPECT_EQ(find_web_file(""), nullptr);
}

TEST(WebAssets, MediaTypes) {
    EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("chat.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("icon.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("x.bin"), "application/octet-stream");
}

TEST(WebRoute, ServesPagesWithHeadersAndRevalidates) {
    Request req;
    req.method = "GET";
    req.path = "/";
    Response res;
    handle_web(req, res);
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(res.header("Content-Security-Policy"), kWebContentSecurityPolicy);
    EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(res.header("Cache-Control"), "no-cache");
    const std::string etag = res.header("ETag");
    ASSERT_EQ(etag.size(), 34u);

    req.headers = {{"If-None-Match", etag}};
    Response again;
    handle_web(req, again);
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());

    req.headers.clear();
    req.path = "/assets/nothing-here.js";
    Response missing;
    handle_web(req, missing);
    EXPECT_EQ(missing.status, 404);
}

TEST(WebRoute, WebPaths) {
    EXPECT_TRUE(is_web_path("/"));
    EXPECT_TRUE(is_web_path("/status"));
    EXPECT_TRUE(is_web_path("/assets/chat.js"));
    EXPECT_FALSE(is_web_path("/v1/messages"));
    EXPECT_FALSE(is_web_path("/health"));
    EXPECT_FALSE(is_web_path("/statusX"));
}

}  // namespace
}  // namespace pensieve::server
