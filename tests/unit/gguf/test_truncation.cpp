// A valid file cut at every byte offset must be rejected cleanly, except where
// the cut only removes padding after the last tensor's data.
#include <gtest/gtest.h>

#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

uint64_t end_of_last_tensor(const GgufFile& f) {
    uint64_t end = f.data_offset();
    for (const TensorInfo& t : f.tensors())
        end = std::max(end, f.data_offset() + t.offset + t.n_bytes);
    return end;
}

TEST(GgufTruncation, EveryPrefixOfAValidFileIsRejectedUntilTheDataIsComplete) {
    const std::vector<uint8_t> full = testing::sample_writer().to_bytes();
    const uint64_t needed = end_of_last_tensor(GgufFile::parse(full));
    for (size_t len = 0; len < full.size(); ++len) {
        // A fresh allocation of exactly `len` bytes, so ASan catches any read past it.
        const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(len));
        if (len < needed) {
            EXPECT_THROW(GgufFile::parse(prefix), Error) << "prefix of " << len << " bytes";
        } else {
            EXPECT_NO_THROW(GgufFile::parse(prefix)) << "prefix of " << len << " bytes";
        }
    }
}

TEST(GgufTruncation, MetadataOnlyFilesAreRejectedWhenCutInsideTheMetadata) {
    GgufWriter w;
    w.set("general.architecture", std::string("gpt2"));
    w.set("tokenizer.ggml.tokens", make_array<std::string>({"a", "b", "c"}));
    std::vector<uint8_t> full = w.to_bytes();
    const GgufFile f = GgufFile::parse(full);
    // The writer pads to the alignment; the metadata ends somewhere before that.
    size_t metadata_end = full.size();
    while (metadata_end > 0 && full[metadata_end - 1] == 0) --metadata_end;
    for (size_t len = 0; len < metadata_end; ++len) {
        const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(len));
        EXPECT_THROW(GgufFile::parse(prefix), Error) << "prefix of " << len << " bytes";
    }
    EXPECT_EQ(f.tensors().size(), 0u);
}

TEST(GgufTruncation, SingleByteMutationsNeverCrash) {
    // Not every mutation is invalid (a changed tensor byte is still a valid
    // file), but none may crash, hang, or trip the sanitizers.
    const std::vector<uint8_t> full = testing::sample_writer().to_bytes();
    const uint64_t header_end = GgufFile::parse(full).data_offset();
    for (size_t i = 0; i < header_end; ++i) {
        for (uint8_t v : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{0x41}}) {
            std::vector<uint8_t> mutated = full;
            mutated[i] = v;
            try {
                (void)GgufFile::parse(mutated);
            } catch (const Error&) {
            }
        }
    }
}

}  // namespace
}  // namespace pensieve::gguf
