// The HTTP/1.1 connection layer, over GNU libmicrohttpd, with the limits that
// let it face untrusted clients: one thread per connection (a handler may
// block for a whole generation, and an idle or slow socket holds only its own
// thread), a cap on open connections, a deadline for each request's headers
// and body, bounded header size and count, and a body limit that holds for
// chunked bodies too (413 as soon as it is crossed). It knows nothing of
// routes: it hands each request to an HttpHandler and writes what it fills in.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "server/http_message.hpp"

namespace pensieve::server {

struct DaemonLimits {
    size_t max_body = size_t{32} << 20;          // bytes, decoded chunked bodies included
    size_t max_connections = 512;                // open connections, idle ones included
    size_t max_header_bytes = size_t{16} << 10;  // request line and headers
    size_t max_header_count = 100;
    // A request's headers must arrive within this long of the connection
    // opening or of the previous reply on it (so it is also the longest a
    // kept-alive connection may idle).
    std::chrono::seconds header_timeout{10};
    // Its body must arrive within this long of its headers, and a reply
    // that makes no progress for this long (a client that stopped reading)
    // is abandoned.
    std::chrono::seconds read_timeout{30};
};

// What the daemon asks of the server above it. Every call for a request runs
// on that connection's thread, with current_request() pointing at the
// request's own access-log record.
class HttpHandler {
  public:
    virtual ~HttpHandler() = default;
    // The headers are in (the request-id header is already on `res`).
    // True when `res` answers the request now, before its body is read.
    virtual bool on_headers(const Request& req, Response& res) = 0;
    // The whole request is in: fill `res`. Leaving its status 0 closes the
    // connection without a reply (the client has gone).
    virtual void on_request(Request& req, Response& res) = 0;
    // Fills `res` with an error the daemon found itself (limits).
    virtual void on_error(const Request& req, Response& res, int status,
                          const std::string& message) = 0;
    // How an exchange ended.
    enum class Ending {
        Delivered,   // the whole reply went out
        ClientLeft,  // the client closed its connection first
        TimedOut,    // the library's inactivity timeout closed it
        Shutdown,    // the server stopped
        // The library ended it itself: a body it could not frame (it then
        // answers 400 or 500 on its own, with no reply of ours), memory it
        // lacked, or a connection that broke while writing.
        Failed,
    };
    // The exchange is over; `status` went out (0: none of ours did).
    virtual void on_finished(const Request& req, int status, Ending ending) = 0;
};

class HttpDaemon {
  public:
    HttpDaemon(const DaemonLimits& limits, HttpHandler& handler);
    ~HttpDaemon();
    HttpDaemon(const HttpDaemon&) = delete;
    HttpDaemon& operator=(const HttpDaemon&) = delete;

    // Listens on host:port (port 0: any free port) and serves on its own
    // threads. False, with a message on stderr, when it cannot.
    bool start(const std::string& host, int port);
    int port() const;

    // Stops accepting connections; replies from now on close their
    // connection. Requests in flight go on.
    void quiesce();
    bool quiesced() const;
    size_t in_flight() const;
    // Waits until no request is in flight or `timeout` passes; true if none is.
    bool wait_idle(std::chrono::milliseconds timeout);
    // Closes every connection and joins their threads (a handler still
    // running is waited for).
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pensieve::server
