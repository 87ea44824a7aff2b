// libFuzzer entry point for what `pensieve pull` reads from the user and the
// network: a source string, a Hugging Face file-list answer (JSON), a
// quantization picked from it, and the header values that state a file's
// hash and range. Any input must give a result or the documented exception
// (std::invalid_argument for sources, std::runtime_error for server data),
// never a crash; and whatever is accepted must hold what the puller relies
// on: repository paths without "..", chosen files taken from the list.
//
// Input: <source> '\n' <quant> '\n' <header value> '\n' <file-list JSON>.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "registry/web_source.hpp"

namespace {

using namespace pensieve::registry;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_web_source: %s\n", what);
    std::abort();
}

std::string_view next_line(std::string_view& rest) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return line;
}

void check_source(std::string_view text) {
    try {
        const auto s = parse_web_source(text);
        if (!s || s->kind == WebSource::Kind::HfQuant) return;  // no file name until listed
        const std::string name = s->file_name();
        if (s->file.find("..") != std::string::npos && s->kind == WebSource::Kind::HfFile) {
            // ".." is allowed inside a name (a..b.gguf) but never as a component.
            if (("/" + s->file + "/").find("/../") != std::string::npos) fail("'..' component");
        }
        if (name.empty() || name.find('/') != std::string::npos || name == "..") {
            fail("bad local file name");
        }
        if (const auto split = parse_split_name(name)) {
            if (split->index < 1 || split->index > split->count) fail("split index out of range");
            if (parse_split_name(split_part_name(*split, 1))->count != split->count) {
                fail("split name does not round-trip");
            }
        }
    } catch (const std::invalid_argument&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const std::string_view source = next_line(rest);
    const std::string_view quant = next_line(rest);
    const std::string_view header = next_line(rest);
    check_source(source);

    if (const auto sha = sha256_from_etag(header)) {
        if (sha->size() != 64) fail("sha256 of the wrong length");
    }
    const auto total = total_from_content_range(header);
    const auto start = start_from_content_range(header);
    (void)total;
    (void)start;

    try {
        const auto files = parse_model_file_list(rest);
        try {
            const std::string chosen = select_quant_file(files, quant);
            const bool listed = std::find(files.begin(), files.end(), chosen) != files.end();
            // A split model is chosen by its first part, which need not be listed.
            if (!listed && !parse_split_name(chosen.substr(chosen.rfind('/') + 1))) {
                fail("chose a file that is not in the list");
            }
        } catch (const std::runtime_error&) {
        }
        (void)available_quants(files);
    } catch (const std::runtime_error&) {
    }
    return 0;
}
