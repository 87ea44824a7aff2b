// The mapping: printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand
// for themselves; the other 68 bytes, in increasing order, take U+0100,
// U+0101, … in turn.
#include "tokenizer/byte_level.hpp"

#include <array>

namespace pensieve::tokenizer::byte_level {
namespace {

bool is_self(uint32_t b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Maps {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 0x144> from_cp{};  // every mapped code point is < U+0144

    Maps() {
        from_cp.fill(-1);
        uint32_t next = 0x100;
        for (uint32_t b = 0; b < 256; ++b) {
            to_cp[b] = is_self(b) ? b : next++;
            from_cp[to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};

const Maps& maps() {
    static const Maps m;
    return m;
}

}  // namespace

uint32_t byte_to_code_point(uint8_t b) {
    return maps().to_cp[b];
}

std::optional<uint8_t> code_point_to_byte(uint32_t cp) {
    if (cp >= maps().from_cp.size() || maps().from_cp[cp] < 0) return std::nullopt;
    return static_cast<uint8_t>(maps().from_cp[cp]);
}

}  // namespace pensieve::tokenizer::byte_level
