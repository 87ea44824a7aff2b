// A small RAII wrapper around one libcurl easy handle: HTTP(S) GET with
// redirects followed, an optional Range start, a bearer token that libcurl
// sends only to the first host (never to a CDN host after a redirect), and
// the headers of every response on the redirect chain (Hugging Face states a
// file's hash and size on the 302, not on the CDN's final answer).
// It is the only HTTP client in Pensieve.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace pensieve::registry {

// One response's status and headers (names lowercased, values trimmed).
struct HttpHeaders {
    long status = 0;
    std::map<std::string, std::string> fields;
    const std::string* find(const std::string& lowercase_name) const;
};

struct HttpRequest {
    std::string url;
    std::string bearer_token;                // empty: none; sent to the first host only
    std::vector<std::string> extra_headers;  // "Name: value"
    uint64_t range_from = 0;                 // > 0: ask for bytes range_from..end
    long connect_timeout_ms = 30000;
    long total_timeout_ms = 0;  // 0: none (large downloads); a stall still fails, see below
    // A transfer slower than stall_bytes_per_second for stall_seconds on end
    // fails, so a server that drips bytes cannot hold a download open forever.
    long stall_seconds = 60;
    long stall_bytes_per_second = 1024;
    bool direct = false;  // ignore proxy settings (for a server on loopback)
};

// A transfer that did not complete at the transport level (no connection,
// connection lost, timeout). HTTP error statuses are not thrown: the caller
// reads them from the response.
class HttpTransportError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class HttpClient {
  public:
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Called once the final response's headers are in (chain[0] is the first
    // hop, chain.back() the response whose body follows), before any body.
    using HeadersSink = std::function<void(const std::vector<HttpHeaders>& chain)>;
    using BodySink = std::function<void(const char* data, size_t n)>;

    // Performs a GET. Exceptions thrown by the sinks abort the transfer and
    // propagate. Returns the headers of every response on the chain.
    std::vector<HttpHeaders> get(const HttpRequest& request, const HeadersSink& on_headers,
                                 const BodySink& on_body);

    // A small GET whose body is kept in memory; throws std::runtime_error
    // when the body exceeds max_bytes.
    std::string get_text(const HttpRequest& request, size_t max_bytes, long* status);

  private:
    void* curl_;  // CURL*
};

// The host part of an http(s) URL ("" when it has none), lowercased.
std::string url_host(const std::string& url);

}  // namespace pensieve::registry
