// Peer hang-up detection on the connection's socket (Linux: POLLRDHUP).
#include "server/peer_socket.hpp"

#include <poll.h>

namespace pensieve::server {

bool PeerSocket::closed() const {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace pensieve::server
