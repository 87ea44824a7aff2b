// Wheel member extraction with libzip.
#include "registry/wheel.hpp"

#include <zip.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace pensieve::registry {

uint64_t read_wheel_member(const std::filesystem::path& wheel, const std::string& member,
                           const std::function<void(const char* data, size_t n)>& sink) {
    int err = 0;
    std::unique_ptr<zip_t, decltype(&zip_discard)> archive(
        zip_open(wheel.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err), &zip_discard);
    if (!archive) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        std::string why = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        throw std::runtime_error("cannot open wheel " + wheel.string() + ": " + why);
    }
    const zip_int64_t index = zip_name_locate(archive.get(), member.c_str(), 0);
    if (index < 0) throw std::runtime_error(wheel.filename().string() + " has no " + member);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0 ||
        (st.valid & ZIP_STAT_SIZE) == 0) {
        throw std::runtime_error("cannot stat " + member + " in " + wheel.string());
    }
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(index), 0), &zip_fclose);
    if (!file) throw std::runtime_error("cannot open " + member + " in " + wheel.string());
    std::vector<char> buf(1 << 20);
    uint64_t total = 0;
    for (;;) {
        const zip_int64_t n = zip_fread(file.get(), buf.data(), buf.size());
        if (n < 0) {
            throw std::runtime_error("corrupt data for " + member + " in " + wheel.string() + ": " +
                                     zip_file_strerror(file.get()));
        }
        if (n == 0) break;
        sink(buf.data(), static_cast<size_t>(n));
        total += static_cast<uint64_t>(n);
    }
    if (total != st.size) {
        throw std::runtime_error(member + " in " + wheel.string() + " is truncated");
    }
    return total;
}

}  // namespace pensieve::registry
