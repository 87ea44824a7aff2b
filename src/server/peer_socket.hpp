// Noticing that an HTTP client has gone away while its request is being
// generated: the handler polls its connection's socket for a hang-up
// (POLLRDHUP) between decode steps.
#pragma once

namespace pensieve::server {

class PeerSocket {
  public:
    explicit PeerSocket(int fd) : fd_(fd) {}

    // True once the peer has closed or reset the connection.
    bool closed() const;

  private:
    int fd_ = -1;
};

}  // namespace pensieve::server
