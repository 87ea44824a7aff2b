// libFuzzer entry point for the GGUF reader: any input must either parse or
// raise gguf::Error — never crash, hang, leak, or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace pensieve::gguf;
    try {
        const GgufFile file = GgufFile::parse(std::span<const uint8_t>(data, size));
        (void)summarize(file);
        for (const TensorInfo& t : file.tensors()) {
            // Touch the first and last byte of every tensor: they must be in bounds.
            volatile uint8_t first = t.data[0];
            volatile uint8_t last = t.data[t.n_bytes - 1];
            (void)first;
            (void)last;
        }
    } catch (const Error&) {
    }
    return 0;
}
