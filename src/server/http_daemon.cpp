// libmicrohttpd in thread-per-connection mode. What it does not do itself is
// done here:
// - deadlines: its own timeout only fires after a quiet spell, so a client
//   that dribbles a byte now and then would keep its connection forever; a
//   watchdog thread shuts down the socket of a connection whose headers (or
//   body) are late, which its thread then sees as the peer closing;
// - the early 413 of a chunked body: the library lets a reply be queued only
//   before the body or after all of it, so when a body crosses the limit the
//   413 is written on the socket here and the connection is closed;
// - request accounting: each request's state (the Request, the Response and
//   its access-log record) lives in one Exchange from its headers to the
//   completion callback.
#include "server/http_daemon.hpp"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "api/messages_response.hpp"
#include "server/access_log.hpp"
#include "server/log.hpp"

namespace pensieve::server {

namespace {

using Clock = std::chrono::steady_clock;

// The per-connection pool holds the read buffer and the parsed headers;
// sized well above max_header_bytes so our own limit (with the JSON error)
// is the one a client meets; past the pool the library answers 431 itself.
constexpr size_t kConnectionMemory = size_t{64} << 10;
constexpr size_t kStreamBlock = size_t{16} << 10;
constexpr auto kWatchdogPeriod = std::chrono::milliseconds(100);
// After an early 413: how long and how much of the rest of the body to read
// and drop before closing, so the close does not reset the connection and
// destroy the reply before the client reads it.
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
constexpr size_t kLingerBytes = size_t{1} << 20;

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// One TCP connection (libmicrohttpd's socket context).
struct Connection {
    int fd = -1;
    std::atomic<int64_t> deadline_ns{0};  // steady clock; 0: none
    void arm(std::chrono::seconds after) {
        deadline_ns =
            now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(after).count();
    }
    void disarm() { deadline_ns = 0; }
};

// One request, from its headers to the end of its reply.
struct Exchange {
    Request req;
    Response res;
    RequestRecord record;
    Connection* connection = nullptr;
    int status_sent = 0;
};

// The body of a streamed reply, handed out in the pieces the library asks for.
struct StreamPump {
    std::shared_ptr<BodyStream> stream;
    RequestRecord* record = nullptr;  // the exchange outlives every read
    std::string pending;
    size_t offset = 0;
    bool ended = false;
};

const char* reason_phrase(int status) {
    switch (status) {
        case 413:
            return "Content Too Large";
        default:
            return "Error";
    }
}

HttpHandler::Ending ending(MHD_RequestTerminationCode code) {
    switch (code) {
        case MHD_REQUEST_TERMINATED_COMPLETED_OK:
            return HttpHandler::Ending::Delivered;
        case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
            return HttpHandler::Ending::TimedOut;
        case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
            return HttpHandler::Ending::Shutdown;
        case MHD_REQUEST_TERMINATED_READ_ERROR:
        case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
            return HttpHandler::Ending::ClientLeft;
        default:
            return HttpHandler::Ending::Failed;
    }
}

// Writes all of `data` on a non-blocking socket within `budget`.
bool write_all(int fd, std::string_view data, std::chrono::milliseconds budget) {
    const auto until = Clock::now() + budget;
    while (!data.empty()) {
        const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, static_cast<int>(left.count()));
    }
    return true;
}

// Half-closes and reads what the client still sends, within bounds.
void linger(int fd) {
    shutdown(fd, SHUT_WR);
    const auto until = Clock::now() + kLingerTime;
    size_t dropped = 0;
    char buf[16384];
    while (dropped < kLingerBytes) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return;  // the client closed too
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            return;
        }
        dropped += static_cast<size_t>(n);
    }
}

std::string serialize(const Response& res) {
    std::string out =
        "HTTP/1.1 " + std::to_string(res.status) + " " + reason_phrase(res.status) + "\r\n";
    for (const auto& [name, value] : res.headers) out += name + ": " + value + "\r\n";
    if (!res.content_type.empty()) out += "Content-Type: " + res.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(res.body.size()) + "\r\nConnection: close\r\n\r\n";
    return out + res.body;
}

bool resolve(const std::string& host, int port, sockaddr_storage& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.empty() ? nullptr : host.c_str(), nullptr, &hints, &found) != 0 ||
        found == nullptr) {
        return false;
    }
    std::memcpy(&out, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (out.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&out)->sin_port = htons(static_cast<uint16_t>(port));
    } else if (out.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&out)->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
        return false;
    }
    return true;
}

}  // namespace

struct HttpDaemon::Impl {
    DaemonLimits limits;
    HttpHandler& handler;
    MHD_Daemon* daemon = nullptr;
    int listen_fd = -1;  // kept after quiesce(), closed after the daemon stops
    int port = 0;
    std::atomic<bool> quiescing{false};

    mutable std::mutex mutex;
    std::condition_variable idle;
    std::unordered_set<Connection*> connections;
    size_t in_flight = 0;
    bool stopping = false;
    std::condition_variable wake_watchdog;
    std::thread watchdog;

    Impl(const DaemonLimits& l, HttpHandler& h) : limits(l), handler(h) {}

    // --- libmicrohttpd callbacks (static trampolines below) ---

    void connection_event(MHD_Connection* c, void** context, MHD_ConnectionNotificationCode code) {
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
            auto* conn = new Connection;
            const MHD_ConnectionInfo* info =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
            conn->fd = info == nullptr ? -1 : info->connect_fd;
            // Replies go out in several writes (headers, body, SSE events):
            // without TCP_NODELAY, Nagle's algorithm meets the client's
            // delayed ACK and holds them back ~40 ms.
            int one = 1;
            if (conn->fd >= 0) setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            conn->arm(limits.header_timeout);
            std::lock_guard lock(mutex);
            connections.insert(conn);
            *context = conn;
            return;
        }
        auto* conn = static_cast<Connection*>(*context);
        if (conn == nullptr) return;
        {
            // Before the library closes the socket: the watchdog never
            // touches a descriptor that may have been reused.
            std::lock_guard lock(mutex);
            connections.erase(conn);
        }
        delete conn;
        *context = nullptr;
    }

    MHD_Result access(MHD_Connection* c, const char* url, const char* method,
                      const char* upload_data, size_t* upload_size, void** context) {
        auto* ex = static_cast<Exchange*>(*context);
        if (ex == nullptr) {
            ex = new Exchange;
            *context = ex;
            {
                std::lock_guard lock(mutex);
                in_flight += 1;
            }
            serve_request(&ex->record);
            return headers_arrived(c, *ex, url, method);
        }
        serve_request(&ex->record);
        if (*upload_size != 0) {
            if (ex->req.body.size() + *upload_size > limits.max_body) return body_too_large(*ex);
            ex->req.body.append(upload_data, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        if (ex->connection != nullptr) ex->connection->disarm();
        try {
            handler.on_request(ex->req, ex->res);
        } catch (const std::exception& e) {
            log_event(LogLevel::Error, "handler failed",
                      {{"request_id", ex->record.request_id}, {"error", e.what()}});
            ex->res = Response{};
            ex->res.set_header("request-id", ex->record.request_id);
            handler.on_error(ex->req, ex->res, 500, "internal error");
        }
        if (ex->res.status == 0) return MHD_NO;  // nobody to answer
        return queue(c, *ex);
    }

    // A request target in absolute form ("http://host:port/path", which
    // clients send to proxies): the path is its path, and its authority is
    // the host the request is for, in place of any Host header (RFC 9112
    // section 3.2.2), so the Host checks see the same name either way.
    static void use_absolute_form(Request& req) {
        const std::string_view url = req.path;
        size_t start = 0;
        for (std::string_view scheme : {"http://", "https://"}) {
            if (url.size() > scheme.size() && iequals(url.substr(0, scheme.size()), scheme)) {
                start = scheme.size();
            }
        }
        if (start == 0) return;
        const size_t slash = url.find('/', start);
        const std::string authority(url.substr(start, slash - start));
        req.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
        std::erase_if(req.headers, [](const auto& h) { return iequals(h.first, "host"); });
        req.headers.emplace_back("Host", authority);
    }

    // Why a request's body length is ambiguous (RFC 9112 section 6.3), or
    // null: a Content-Length given twice (the library frames by the first),
    // a Transfer-Encoding given twice (only a single "chunked" is served),
    // or both together.
    static const char* ambiguous_framing(const HeaderList& headers) {
        int lengths = 0, encodings = 0;
        for (const auto& [name, value] : headers) {
            lengths += iequals(name, "content-length") ? 1 : 0;
            encodings += iequals(name, "transfer-encoding") ? 1 : 0;
        }
        if (lengths > 1) return "the request has more than one Content-Length header";
        if (encodings > 1) return "the request has more than one Transfer-Encoding header";
        if (lengths > 0 && encodings > 0) {
            return "the request has both Content-Length and Transfer-Encoding headers";
        }
        return nullptr;
    }

    MHD_Result headers_arrived(MHD_Connection* c, Exchange& ex, const char* url,
                               const char* method) {
        const MHD_ConnectionInfo* info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        ex.connection = info == nullptr ? nullptr : static_cast<Connection*>(info->socket_context);
        ex.req.method = method;
        ex.req.path = url;
        ex.req.socket = ex.connection == nullptr ? -1 : ex.connection->fd;
        MHD_get_connection_values(
            c, MHD_HEADER_KIND,
            [](void* cls, MHD_ValueKind, const char* key, const char* value) {
                static_cast<HeaderList*>(cls)->emplace_back(key, value == nullptr ? "" : value);
                return MHD_YES;
            },
            &ex.req.headers);
        use_absolute_form(ex.req);
        const std::string id = api::new_id("req_");
        begin_request(id);
        ex.res.set_header("request-id", id);
        // A handler may take a whole generation before it answers: the
        // library's inactivity timeout is off until the reply is queued.
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);

        const MHD_ConnectionInfo* size =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if ((size != nullptr && size->header_size > limits.max_header_bytes) ||
            ex.req.headers.size() > limits.max_header_count) {
            handler.on_error(ex.req, ex.res, 431,
                             "request headers are larger than the server accepts (at most " +
                                 std::to_string(limits.max_header_count) + " fields, " +
                                 std::to_string(limits.max_header_bytes) + " bytes)");
            return queue(c, ex);
        }
        if (handler.on_headers(ex.req, ex.res)) return queue(c, ex);
        if (const char* why = ambiguous_framing(ex.req.headers); why != nullptr) {
            // Where the body ends is unclear, so nothing after it on this
            // connection can be trusted to be a request of its own (request
            // smuggling): refused, and the connection closed.
            handler.on_error(ex.req, ex.res, 400, why);
            ex.res.set_header("Connection", "close");
            return queue(c, ex);
        }
        const std::string te = ex.req.header("transfer-encoding");
        if (!te.empty() && !iequals(te, "chunked")) {
            handler.on_error(ex.req, ex.res, 501,
                             "transfer-encoding '" + te + "' is not supported");
            return queue(c, ex);
        }
        const std::string length = ex.req.header("content-length");
        if (!length.empty()) {
            char* end = nullptr;
            errno = 0;
            const unsigned long long n = std::strtoull(length.c_str(), &end, 10);
            if (errno == ERANGE || n > limits.max_body) return too_large_reply(c, ex);
        }
        const bool body_coming = !te.empty() || (!length.empty() && length != "0");
        if (ex.connection != nullptr) {
            if (body_coming) {
                ex.connection->arm(limits.read_timeout);
            } else {
                ex.connection->disarm();
            }
        }
        return MHD_YES;
    }

    void too_large(Exchange& ex) {
        handler.on_error(ex.req, ex.res, 413,
                         "request body is larger than the server accepts (" +
                             std::to_string(limits.max_body >> 20) + " MB)");
    }

    // Content-Length says too much: the library sends the reply and drops
    // the body unread.
    MHD_Result too_large_reply(MHD_Connection* c, Exchange& ex) {
        too_large(ex);
        return queue(c, ex);
    }

    // A chunked body crossed the limit mid-way: the library cannot queue a
    // reply now, so it is written here and the connection closed.
    MHD_Result body_too_large(Exchange& ex) {
        too_large(ex);
        if (ex.req.socket >= 0 && write_all(ex.req.socket, serialize(ex.res), kLingerTime)) {
            ex.status_sent = ex.res.status;
            linger(ex.req.socket);
        }
        return MHD_NO;
    }

    static ssize_t read_stream(void* cls, uint64_t, char* buf, size_t max) {
        auto* p = static_cast<StreamPump*>(cls);
        serve_request(p->record);
        while (p->offset == p->pending.size()) {
            if (p->ended) return MHD_CONTENT_READER_END_OF_STREAM;
            p->pending.clear();
            p->offset = 0;
            BodyStream::Next next = BodyStream::Next::Abort;
            try {
                next = p->stream->next(p->pending);
            } catch (const std::exception& e) {
                log_event(LogLevel::Error, "stream failed",
                          {{"request_id", p->record->request_id}, {"error", e.what()}});
            }
            if (next == BodyStream::Next::Abort) return MHD_CONTENT_READER_END_WITH_ERROR;
            if (next == BodyStream::Next::End) p->ended = true;
        }
        const size_t n = std::min(max, p->pending.size() - p->offset);
        std::memcpy(buf, p->pending.data() + p->offset, n);
        p->offset += n;
        return static_cast<ssize_t>(n);
    }

    MHD_Result queue(MHD_Connection* c, Exchange& ex) {
        Response& res = ex.res;
        MHD_Response* r = nullptr;
        if (res.stream) {
            auto* pump = new StreamPump{res.stream, &ex.record, {}, 0, false};
            r = MHD_create_response_from_callback(
                MHD_SIZE_UNKNOWN, kStreamBlock, &read_stream, pump,
                [](void* cls) { delete static_cast<StreamPump*>(cls); });
            if (r == nullptr) delete pump;
        } else {
            r = MHD_create_response_from_buffer(res.body.size(), res.body.data(),
                                                MHD_RESPMEM_MUST_COPY);
        }
        if (r == nullptr) return MHD_NO;
        for (const auto& [name, value] : res.headers) {
            MHD_add_response_header(r, name.c_str(), value.c_str());
        }
        if (!res.content_type.empty()) {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type.c_str());
        }
        if (quiescing.load()) {
            // While stopping, no connection is kept for another request.
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        } else if (!iequals(res.header("connection"), "close")) {
            // Tells clients that pool connections (Node's fetch reads it)
            // to drop an idle one before the header deadline closes it.
            const std::string keep = "timeout=" + std::to_string(std::max<int64_t>(
                                                      1, limits.header_timeout.count() - 1));
            MHD_add_response_header(r, "Keep-Alive", keep.c_str());
        }
        // The reply is under way: a client that stops reading it is dropped
        // after the read timeout. Re-enabling the timeout restarts its clock.
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  static_cast<unsigned int>(limits.read_timeout.count()));
        const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned int>(res.status), r);
        MHD_destroy_response(r);
        if (ok == MHD_YES) ex.status_sent = res.status;
        return ok;
    }

    void completed(void** context, MHD_RequestTerminationCode code) {
        auto* ex = static_cast<Exchange*>(*context);
        if (ex == nullptr) return;
        *context = nullptr;
        serve_request(&ex->record);
        try {
            handler.on_finished(ex->req, ex->status_sent, ending(code));
        } catch (const std::exception& e) {
            log_event(LogLevel::Error, "request accounting failed", {{"error", e.what()}});
        }
        serve_request(nullptr);
        // The next request on a kept-alive connection gets a fresh header deadline.
        if (ex->connection != nullptr) ex->connection->arm(limits.header_timeout);
        delete ex;
        std::lock_guard lock(mutex);
        in_flight -= 1;
        if (in_flight == 0) idle.notify_all();
    }

    void watch() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            wake_watchdog.wait_for(lock, kWatchdogPeriod);
            const int64_t now = now_ns();
            for (Connection* conn : connections) {
                const int64_t deadline = conn->deadline_ns.load();
                if (deadline != 0 && now > deadline && conn->fd >= 0) {
                    // The connection's thread sees the peer gone and closes it.
                    conn->disarm();
                    shutdown(conn->fd, SHUT_RDWR);
                }
            }
        }
    }

    // --- the C callbacks ---

    static MHD_Result access_cb(void* cls, MHD_Connection* c, const char* url, const char* method,
                                const char*, const char* upload_data, size_t* upload_size,
                                void** context) {
        return static_cast<Impl*>(cls)->access(c, url, method, upload_data, upload_size, context);
    }

    static void completed_cb(void* cls, MHD_Connection*, void** context,
                             MHD_RequestTerminationCode code) {
        static_cast<Impl*>(cls)->completed(context, code);
    }

    static void connection_cb(void* cls, MHD_Connection* c, void** context,
                              MHD_ConnectionNotificationCode code) {
        static_cast<Impl*>(cls)->connection_event(c, context, code);
    }

    // The library's own messages (a refused connection over the cap, a
    // malformed request) are for debugging only.
    static void log_cb(void*, const char* format, va_list args) {
        if (!log_enabled(LogLevel::Debug)) return;
        char text[512];
        std::vsnprintf(text, sizeof text, format, args);
        std::string message(text);
        while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
            message.pop_back();
        }
        log_event(LogLevel::Debug, "libmicrohttpd", {{"message", message}});
    }
};

namespace {

// Descriptors kept for what is not a connection: the listening socket, the
// daemon's wake-up pipe, model files being loaded, the log.
constexpr rlim_t kReservedFds = 32;

// How many of `wanted` connections the open-file limit allows, after raising
// its soft value as far as the hard one lets it. Past the limit, accept()
// fails with EMFILE while the listening socket stays readable, and the
// polling thread spins on it.
size_t connections_within_fd_limit(size_t wanted) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
    const rlim_t need = static_cast<rlim_t>(wanted) + kReservedFds;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        const rlim_t raised = lim.rlim_max == RLIM_INFINITY ? need : std::min(need, lim.rlim_max);
        if (raised > lim.rlim_cur) {
            rlimit up = lim;
            up.rlim_cur = raised;
            if (setrlimit(RLIMIT_NOFILE, &up) == 0) lim.rlim_cur = raised;
        }
    }
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need) return wanted;
    return lim.rlim_cur > kReservedFds + 1 ? static_cast<size_t>(lim.rlim_cur - kReservedFds) : 1;
}

}  // namespace

HttpDaemon::HttpDaemon(const DaemonLimits& limits, HttpHandler& handler)
    : impl_(std::make_unique<Impl>(limits, handler)) {}

HttpDaemon::~HttpDaemon() {
    stop();
}

bool HttpDaemon::start(const std::string& host, int port) {
    sockaddr_storage addr{};
    if (!resolve(host, port, addr)) {
        std::fprintf(stderr, "error: cannot resolve the address %s\n", host.c_str());
        return false;
    }
    const size_t connections = connections_within_fd_limit(impl_->limits.max_connections);
    if (connections < impl_->limits.max_connections) {
        log_event(LogLevel::Warn, "fewer connections than asked: the open-file limit is too low",
                  {{"max_connections", impl_->limits.max_connections},
                   {"allowed", connections},
                   {"hint", "raise it with ulimit -n"}});
        impl_->limits.max_connections = connections;
    }
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    Impl& m = *impl_;
    m.daemon = MHD_start_daemon(
        flags, static_cast<uint16_t>(port), nullptr, nullptr, &Impl::access_cb, &m,
        MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_CONNECTION_LIMIT,
        static_cast<unsigned int>(m.limits.max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
        static_cast<unsigned int>(m.limits.read_timeout.count()),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, MHD_OPTION_NOTIFY_COMPLETED,
        &Impl::completed_cb, &m, MHD_OPTION_NOTIFY_CONNECTION, &Impl::connection_cb, &m,
        MHD_OPTION_EXTERNAL_LOGGER, &Impl::log_cb, &m, MHD_OPTION_END);
    if (m.daemon == nullptr) {
        std::fprintf(stderr, "error: cannot listen on %s:%d\n", host.c_str(), port);
        return false;
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(m.daemon, MHD_DAEMON_INFO_BIND_PORT);
    m.port = info == nullptr ? port : info->port;
    m.watchdog = std::thread([&m] { m.watch(); });
    return true;
}

int HttpDaemon::port() const {
    return impl_->port;
}

void HttpDaemon::quiesce() {
    Impl& m = *impl_;
    if (m.daemon == nullptr || m.quiescing.exchange(true)) return;
    const MHD_socket fd = MHD_quiesce_daemon(m.daemon);
    if (fd == MHD_INVALID_SOCKET) return;
    // The socket may only be closed after the daemon stops, but shutting it
    // down ends the listening now: new clients are refused at once instead
    // of waiting in the backlog.
    shutdown(fd, SHUT_RDWR);
    m.listen_fd = fd;
}

bool HttpDaemon::quiesced() const {
    return impl_->quiescing.load();
}

size_t HttpDaemon::in_flight() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->in_flight;
}

bool HttpDaemon::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->idle.wait_for(lock, timeout, [&] { return impl_->in_flight == 0; });
}

void HttpDaemon::stop() {
    Impl& m = *impl_;
    if (m.daemon == nullptr) return;
    m.quiescing = true;
    MHD_stop_daemon(m.daemon);
    m.daemon = nullptr;
    if (m.listen_fd >= 0) close(m.listen_fd);
    m.listen_fd = -1;
    {
        std::lock_guard lock(m.mutex);
        m.stopping = true;
    }
    m.wake_watchdog.notify_all();
    if (m.watchdog.joinable()) m.watchdog.join();
}

}  // namespace pensieve::server
