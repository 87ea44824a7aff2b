// Incremental SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA
// extensions where present) for verifying model files as they are written.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace pensieve::registry {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, size_t n);
    std::string hex_digest();  // lowercase hex; finishes the hash

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Hash of a whole file; throws std::runtime_error if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace pensieve::registry
