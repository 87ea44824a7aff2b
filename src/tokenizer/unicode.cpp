// Two-stage lookup table over the generated category ranges: stage 1 maps
// each 256-code-point block to a deduplicated stage-2 block of 256 16-bit
// flag sets. Built once on first use (a few hundred KiB), so each lookup is
// two array reads.
#include "tokenizer/unicode.hpp"

#include <string>
#include <unordered_map>
#include <vector>

namespace pensieve::tokenizer::unicode {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kBlockBits = 8;
constexpr uint32_t kBlockSize = 1u << kBlockBits;
constexpr uint32_t kBlockCount = (kMaxCodePoint + 1) / kBlockSize;

struct Table {
    std::vector<uint16_t> stage1;  // (kBlockCount): block index into stage2
    std::vector<uint16_t> stage2;  // (n_unique_blocks * kBlockSize): flags

    Table() {
        std::vector<uint16_t> flat(kMaxCodePoint + 1, kOther);
        for (size_t i = 0; i < kCategoryRangeCount; ++i) {
            const CategoryRange& r = kCategoryRanges[i];
            for (uint32_t cp = r.first; cp <= r.last; ++cp) flat[cp] = r.flags;
        }
        std::unordered_map<std::u16string, uint16_t> seen;
        stage1.resize(kBlockCount);
        for (uint32_t b = 0; b < kBlockCount; ++b) {
            std::u16string block(flat.begin() + b * kBlockSize,
                                 flat.begin() + (b + 1) * kBlockSize);
            auto [it, inserted] = seen.emplace(block, static_cast<uint16_t>(seen.size()));
            if (inserted) stage2.insert(stage2.end(), block.begin(), block.end());
            stage1[b] = it->second;
        }
    }
};

const Table& table() {
    static const Table t;
    return t;
}

}  // namespace

uint16_t flags(uint32_t cp) {
    if (cp > kMaxCodePoint) return kOther;
    const Table& t = table();
    return t.stage2[static_cast<size_t>(t.stage1[cp >> kBlockBits]) * kBlockSize +
                    (cp & (kBlockSize - 1))];
}

}  // namespace pensieve::tokenizer::unicode
