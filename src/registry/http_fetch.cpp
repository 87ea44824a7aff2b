// libcurl easy-handle wrapper; see http_fetch.hpp.
#include "registry/http_fetch.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>

namespace pensieve::registry {

namespace {

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("libcurl failed to initialise");
        }
    });
}

std::string trim(std::string s) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

// State shared with the C callbacks of one transfer. Exceptions never cross
// libcurl: a callback stores the first one and makes libcurl abort.
struct Transfer {
    std::vector<HttpHeaders> chain;
    bool headers_done = false;  // current response's blank line seen
    bool delivered = false;     // on_headers called
    const HttpClient::HeadersSink* on_headers = nullptr;
    const HttpClient::BodySink* on_body = nullptr;
    std::exception_ptr error;

    void deliver_headers() {
        if (delivered) return;
        delivered = true;
        if (*on_headers) (*on_headers)(chain);
    }
};

size_t on_header_line(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    std::string line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
        HttpHeaders h;
        const size_t space = line.find(' ');
        if (space != std::string::npos)
            h.status = std::strtol(line.c_str() + space + 1, nullptr, 10);
        t->chain.push_back(std::move(h));
        t->headers_done = false;
        return n;
    }
    if (t->chain.empty()) return n;
    if (line.empty()) {
        t->headers_done = true;
        // Deliver the final response's headers now, before any body, so the
        // caller can refuse a transfer (e.g. too large for the disk) even when
        // no body byte ever arrives. 1xx and followed redirects are not final.
        const HttpHeaders& h = t->chain.back();
        const bool redirect = h.status >= 300 && h.status < 400 && h.find("location") != nullptr;
        if (h.status >= 200 && !redirect) {
            try {
                t->deliver_headers();
            } catch (...) {
                t->error = std::current_exception();
                return 0;  // aborts the transfer
            }
        }
        return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return n;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    t->chain.back().fields[name] = trim(line.substr(colon + 1));
    return n;
}

size_t on_body_bytes(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    try {
        t->deliver_headers();
        if (*t->on_body) (*t->on_body)(data, n);
        return n;
    } catch (...) {
        t->error = std::current_exception();
        return n == 0 ? 1 : 0;  // any count other than n aborts the transfer
    }
}

class HeaderList {
  public:
    HeaderList() = default;
    ~HeaderList() { curl_slist_free_all(list_); }
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;
    void add(const std::string& header) {
        curl_slist* grown = curl_slist_append(list_, header.c_str());
        if (grown == nullptr) throw std::bad_alloc();
        list_ = grown;
    }
    curl_slist* get() const { return list_; }

  private:
    curl_slist* list_ = nullptr;
};

}  // namespace

const std::string* HttpHeaders::find(const std::string& lowercase_name) const {
    const auto it = fields.find(lowercase_name);
    return it == fields.end() ? nullptr : &it->second;
}

HttpClient::HttpClient() {
    global_init_once();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("libcurl could not create a handle");
}

HttpClient::~HttpClient() {
    curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::vector<HttpHeaders> HttpClient::get(const HttpRequest& request, const HeadersSink& on_headers,
                                         const BodySink& on_body) {
    CURL* c = static_cast<CURL*>(curl_);
    curl_easy_reset(c);
    Transfer t;
    t.on_headers = &on_headers;
    t.on_body = &on_body;
    HeaderList headers;
    for (const std::string& h : request.extra_headers) headers.add(h);

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    // Bearer auth through libcurl (not a raw header) so that libcurl drops it
    // when a redirect leads to another host, as CURLOPT_UNRESTRICTED_AUTH is off.
    if (!request.bearer_token.empty()) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, request.bearer_token.c_str());
    }
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pensieve");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request.total_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, request.stall_bytes_per_second);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_seconds);
    if (request.direct) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    const std::string range = std::to_string(request.range_from) + "-";
    if (request.range_from > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);

    const CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    if (t.error) std::rethrow_exception(t.error);
    if (rc != CURLE_OK) {
        const std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
        throw HttpTransportError(detail);
    }
    if (!t.chain.empty()) {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        t.chain.back().status = status;
    }
    t.deliver_headers();  // an empty body never reached the body callback
    return std::move(t.chain);
}

std::string HttpClient::get_text(const HttpRequest& request, size_t max_bytes, long* status) {
    std::string body;
    const auto chain = get(request, {}, [&](const char* data, size_t n) {
        if (body.size() + n > max_bytes) {
            throw std::runtime_error("the answer from " + request.url + " exceeds " +
                                     std::to_string(max_bytes) + " bytes");
        }
        body.append(data, n);
    });
    if (status != nullptr) *status = chain.empty() ? 0 : chain.back().status;
    return body;
}

std::string url_host(const std::string& url) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos) return "";
    size_t start = scheme + 3;
    const size_t end = url.find_first_of("/?#", start);
    std::string authority =
        url.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (const size_t at = authority.rfind('@'); at != std::string::npos) {
        authority = authority.substr(at + 1);
    }
    if (!authority.empty() && authority[0] == '[') {
        const size_t close = authority.find(']');
        authority = authority.substr(0, close == std::string::npos ? authority.size() : close + 1);
    } else if (const size_t colon = authority.find(':'); colon != std::string::npos) {
        authority = authority.substr(0, colon);
    }
    std::transform(authority.begin(), authority.end(), authority.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return authority;
}

}  // namespace pensieve::registry
