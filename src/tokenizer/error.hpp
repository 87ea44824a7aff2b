// The tokenizer's error type: a vocabulary in a GGUF file that is missing,
// malformed or unsupported. Encoding and decoding themselves never throw.
#pragma once

#include <stdexcept>
#include <string>

namespace pensieve::tokenizer {

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace pensieve::tokenizer
