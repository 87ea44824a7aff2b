// SHA-256 over OpenSSL's EVP interface.
#include "registry/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "gguf/mapped_file.hpp"

namespace pensieve::registry {

struct Sha256::State {
    EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    state_->ctx = EVP_MD_CTX_new();
    if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 initialisation failed");
    }
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(state_->ctx);
}

void Sha256::update(const void* data, size_t n) {
    EVP_DigestUpdate(state_->ctx, data, n);
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(state_->ctx, digest, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

std::string sha256_file(const std::filesystem::path& path) {
    // Read through the engine's own mapping, so that a model hashed from a
    // cold page cache is read in as the engine maps it (2 MiB folios).
    const gguf::MappedFile file(path);
    Sha256 h;
    h.update(file.bytes().data(), file.bytes().size());
    return h.hex_digest();
}

}  // namespace pensieve::registry
