// BrowserGuard's Origin rule: the server's own page (Origin equal to the
// Host it was served as) is allowed and needs no CORS; listed origins get
// CORS; every other origin is refused.
#include <gtest/gtest.h>

#include "server/browser_guard.hpp"

namespace pensieve::server {
namespace {

Request request(std::string host, std::string origin) {
    Request req;
    req.method = "POST";
    req.path = "/v1/messages";
    req.headers = {{"Host", std::move(host)}, {"Origin", std::move(origin)}};
    return req;
}

TEST(BrowserGuard, SameOriginIsTheHostItWasServedAs) {
    EXPECT_TRUE(same_origin("http://127.0.0.1:7777", "127.0.0.1:7777"));
    EXPECT_TRUE(same_origin("HTTP://LocalHost:7777/", "localhost:7777"));
    EXPECT_TRUE(same_origin("http://[::1]:7777", "[::1]:7777"));
    EXPECT_FALSE(same_origin("http://127.0.0.1:7778", "127.0.0.1:7777"));  // another port
    EXPECT_FALSE(same_origin("https://127.0.0.1:7777", "127.0.0.1:7777"));
    EXPECT_FALSE(same_origin("http://evil.example", "127.0.0.1:7777"));
    EXPECT_FALSE(same_origin("null", "127.0.0.1:7777"));
    EXPECT_FALSE(same_origin("http://", ""));
}

TEST(BrowserGuard, TheServersOwnPageIsAllowedWithoutCors) {
    const BrowserGuard guard({"127.0.0.1", {}, {}});
    const Request own = request("127.0.0.1:7777", "http://127.0.0.1:7777");
    EXPECT_TRUE(guard.host_allowed(own));
    EXPECT_TRUE(guard.origin_allowed(own));
    Response res;
    guard.add_cors_headers(own, res);
    EXPECT_FALSE(res.has_header("Access-Control-Allow-Origin"));
}

TEST(BrowserGuard, OtherOriginsAreRefused) {
    const BrowserGuard guard({"127.0.0.1", {}, {}});
    EXPECT_FALSE(guard.origin_allowed(request("127.0.0.1:7777", "http://evil.example")));
    EXPECT_FALSE(guard.origin_allowed(request("127.0.0.1:7777", "http://127.0.0.1:8080")));
    // A rebinding page's requests name its own host: refused by Host first.
    EXPECT_FALSE(guard.host_allowed(request("evil.example:7777", "http://evil.example:7777")));
}

TEST(BrowserGuard, ListedOriginsGetCors) {
    const BrowserGuard guard({"127.0.0.1", {}, {"http://app.example"}});
    const Request listed = request("127.0.0.1:7777", "http://app.example");
    EXPECT_TRUE(guard.origin_allowed(listed));
    Response res;
    guard.add_cors_headers(listed, res);
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "http://app.example");
}

}  // namespace
}  // namespace pensieve::server
