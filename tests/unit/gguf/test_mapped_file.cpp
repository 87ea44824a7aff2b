// The file mapping under every model: its bytes, its 2 MiB alignment (so that
// whole 2 MiB folios of the page cache can be mapped as huge pages), and the
// flush that drops a just-written file's pages from the page cache.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gguf/error.hpp"
#include "gguf/mapped_file.hpp"
#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& stem) {
    return fs::temp_directory_path() /
           (stem + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
}

TEST(MappedFile, MapsTheWholeFileOnATwoMebibyteBoundary) {
    // Sizes around page and huge-page edges, so the trimmed reservation
    // around the mapping is exercised at both ends.
    for (const size_t size : {size_t{1}, size_t{4095}, size_t{4097}, size_t{(2u << 20) - 1},
                              size_t{(2u << 20) + 12345}, size_t{5u << 20}}) {
        const fs::path path = temp_path("pensieve-map");
        const std::vector<uint8_t> bytes = testing::random_bytes(size, static_cast<uint32_t>(size));
        write_file(path, bytes);
        {
            const MappedFile file(path);
            ASSERT_EQ(file.bytes().size(), size);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(file.bytes().data()) % (2u << 20), 0u) << size;
            EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), file.bytes().begin())) << size;
        }
        fs::remove(path);
    }
}

TEST(MappedFile, ManyMappingsAtOnceStayApartAndIntact) {
    // Each mapping trims its own reservation: none may unmap a neighbour.
    const fs::path path = temp_path("pensieve-map");
    const std::vector<uint8_t> bytes = testing::random_bytes(3u << 20, 7);
    write_file(path, bytes);
    std::vector<std::unique_ptr<MappedFile>> files;
    for (int i = 0; i < 16; ++i) files.push_back(std::make_unique<MappedFile>(path));
    files.erase(files.begin() + 3);
    files.erase(files.begin() + 7);
    for (const auto& f : files) {
        EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), f->bytes().begin()));
    }
    files.clear();
    fs::remove(path);
}

TEST(MappedFile, EmptyFileMapsToNoBytes) {
    const fs::path path = temp_path("pensieve-map");
    write_file(path, {});
    EXPECT_TRUE(MappedFile(path).bytes().empty());
    fs::remove(path);
}

TEST(MappedFile, MissingFileOrDirectoryIsATypedError) {
    EXPECT_THROW(MappedFile{temp_path("pensieve-missing")}, Error);
    EXPECT_THROW(MappedFile{fs::temp_directory_path()}, Error);
    EXPECT_THROW(flush_and_uncache(temp_path("pensieve-missing")), Error);
}

TEST(MappedFile, FlushAndUncacheKeepsTheBytes) {
    const fs::path path = temp_path("pensieve-map");
    const std::vector<uint8_t> bytes = testing::random_bytes(1u << 20, 9);
    write_file(path, bytes);
    flush_and_uncache(path);
    const MappedFile file(path);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), file.bytes().begin()));
    fs::remove(path);
}

}  // namespace
}  // namespace pensieve::gguf
