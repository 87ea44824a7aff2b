// Noticing that an HTTP client has gone away while its request is being
// generated. cpp-httplib 0.11 gives handlers no way to ask, so the handler
// finds its connection's socket by the peer address and port, and polls it
// for a hang-up (POLLRDHUP) between decode steps.
#pragma once

#include <string>

namespace pensieve::server {

class PeerSocket {
  public:
    // Finds the socket connected to remote_addr:remote_port (-1 if none).
    PeerSocket(const std::string& remote_addr, int remote_port);

    // True once the peer has closed or reset the connection.
    bool closed() const;

  private:
    int fd_ = -1;
};

}  // namespace pensieve::server
