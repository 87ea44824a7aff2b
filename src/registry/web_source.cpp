// Source strings, split names, quantization choice and header values; see
// web_source.hpp.
#include "registry/web_source.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace pensieve::registry {

namespace {

constexpr size_t kMaxSourceBytes = 2048;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool ends_with_gguf(std::string_view name) {
    return name.size() > 5 && lower(name.substr(name.size() - 5)) == ".gguf";
}

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// A repository owner, repository name or revision: letters, digits, '.', '_'
// and '-', not starting with '.', at most `max` bytes.
void check_name(std::string_view what, std::string_view s, size_t max) {
    if (s.empty()) throw std::invalid_argument(std::string(what) + " is empty");
    if (s.size() > max) throw std::invalid_argument(std::string(what) + " is too long");
    if (s[0] == '.' || !std::all_of(s.begin(), s.end(), is_name_char)) {
        throw std::invalid_argument(std::string(what) + " '" + std::string(s) +
                                    "' may hold only letters, digits, '.', '_' and '-'");
    }
}

// `s` for an error message: bytes outside printable ASCII as \xNN (a name
// from a server may hold CR, LF or NUL), at most 120 bytes of it.
std::string quoted(std::string_view s) {
    constexpr size_t kMax = 120;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out + (s.size() > kMax ? "…'" : "'");
}

// A path inside a repository: '/'-separated names, none "." or "..". The
// same rules hold for a path the user types and one a repository lists.
void check_repo_path(std::string_view path) {
    if (path.empty() || path.size() > 512)
        throw std::invalid_argument("file path " + quoted(path) + " is empty or too long");
    size_t start = 0;
    while (start <= path.size()) {
        const size_t slash = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, slash - start);
        const bool ok = !part.empty() && part != "." && part != ".." &&
                        std::all_of(part.begin(), part.end(),
                                    [](char c) { return is_name_char(c) || c == '+'; });
        if (!ok) {
            throw std::invalid_argument("file path " + quoted(path) +
                                        " has an empty, '..' or unusual component");
        }
        start = slash + 1;
    }
    if (!ends_with_gguf(path)) {
        throw std::invalid_argument(quoted(path) + " is not a .gguf file");
    }
}

bool is_repo_path(std::string_view path) {
    try {
        check_repo_path(path);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

// RFC 3986 unreserved characters stay; every other byte is %XX, so a name
// can never add a query, a fragment or another path segment to a URL.
std::string percent_encoded(std::string_view segment) {
    std::string out;
    for (const char ch : segment) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

// OWNER/REPO[@REV] followed by '/FILE' or ':QUANT' (hf:// form) or ':QUANT'.
WebSource parse_repo_form(std::string_view rest, bool allow_file) {
    WebSource s;
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
        throw std::invalid_argument("expected OWNER/REPO in '" + std::string(rest) + "'");
    }
    s.owner = std::string(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
    const size_t end = rest.find_first_of(allow_file ? "/:@" : ":@");
    s.repo = std::string(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    s.revision = "main";
    if (!rest.empty() && rest[0] == '@') {
        rest.remove_prefix(1);
        const size_t rev_end = rest.find_first_of(allow_file ? "/:" : ":");
        s.revision = std::string(rest.substr(0, rev_end));
        rest.remove_prefix(rev_end == std::string_view::npos ? rest.size() : rev_end);
        check_name("revision", s.revision, 128);
    }
    check_name("repository owner", s.owner, 96);
    check_name("repository name", s.repo, 96);
    if (!rest.empty() && rest[0] == ':') {
        s.kind = WebSource::Kind::HfQuant;
        s.quant = std::string(rest.substr(1));
        if (s.quant.empty() || s.quant.size() > 32 ||
            !std::all_of(s.quant.begin(), s.quant.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
            })) {
            throw std::invalid_argument("quantization '" + s.quant +
                                        "' should look like Q4_K_M (letters, digits, '_', '-')");
        }
        return s;
    }
    if (allow_file && !rest.empty() && rest[0] == '/') {
        s.kind = WebSource::Kind::HfFile;
        s.file = std::string(rest.substr(1));
        check_repo_path(s.file);
        return s;
    }
    throw std::invalid_argument(allow_file ? "expected hf://OWNER/REPO/FILE.gguf or "
                                             "hf://OWNER/REPO:QUANT"
                                           : "expected OWNER/REPO:QUANT (e.g. "
                                             "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M)");
}

bool is_hex64(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c));
           });
}

std::string file_stem_for_quant(std::string_view path) {
    const size_t slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    base.remove_suffix(5);  // ".gguf"
    if (const auto split = parse_split_name(std::string(base) + ".gguf")) return split->prefix;
    return std::string(base);
}

bool is_candidate(std::string_view path) {
    if (!ends_with_gguf(path)) return false;
    const size_t slash = path.rfind('/');
    const std::string base = lower(slash == std::string_view::npos ? path : path.substr(slash + 1));
    return base.rfind("mmproj", 0) != 0;  // vision projectors, not language models
}

// The name a file is chosen by: its first part for split files.
std::string canonical_part(const std::string& path) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (const auto split = parse_split_name(base)) return dir + split_part_name(*split, 1);
    return path;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

std::string WebSource::file_name() const {
    std::string_view path = file;
    std::string trimmed;
    if (kind == Kind::Url) {
        trimmed = url.substr(0, url.find_first_of("?#"));
        path = trimmed;
    }
    const size_t slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::optional<WebSource> parse_web_source(std::string_view text) {
    if (text.size() > kMaxSourceBytes) throw std::invalid_argument("model source is too long");
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
        throw std::invalid_argument("model source contains spaces or control characters");
    }
    if (text.rfind("hf://", 0) == 0) return parse_repo_form(text.substr(5), true);
    const std::string low = lower(text.substr(0, 8));
    if (low.rfind("https://", 0) == 0 || low.rfind("http://", 0) == 0) {
        WebSource s;
        s.kind = WebSource::Kind::Url;
        s.url = std::string(text);
        const size_t scheme_end = text.find("://") + 3;
        const size_t path_start = text.find('/', scheme_end);
        if (path_start == std::string_view::npos || path_start == scheme_end) {
            throw std::invalid_argument("URL '" + s.url + "' names no host or no file");
        }
        if (!ends_with_gguf(s.file_name())) {
            throw std::invalid_argument("URL '" + s.url + "' does not end in a .gguf file name");
        }
        check_repo_path(s.file_name());
        return s;
    }
    if (text.find('/') == std::string_view::npos) return std::nullopt;
    return parse_repo_form(text, false);
}

std::string hf_resolve_url(const std::string& endpoint, const WebSource& source,
                           const std::string& file) {
    std::string url = endpoint + "/" + percent_encoded(source.owner) + "/" +
                      percent_encoded(source.repo) + "/resolve/" + percent_encoded(source.revision);
    size_t start = 0;
    for (;;) {
        const size_t slash = file.find('/', start);
        url += "/" + percent_encoded(std::string_view(file).substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return url;
}

std::string hf_model_info_url(const std::string& endpoint, const WebSource& source) {
    std::string url = endpoint + "/api/models/" + source.owner + "/" + source.repo;
    if (source.revision != "main") url += "/revision/" + source.revision;
    return url;
}

std::optional<SplitName> parse_split_name(std::string_view file_name) {
    if (!ends_with_gguf(file_name)) return std::nullopt;
    std::string_view stem = file_name.substr(0, file_name.size() - 5);
    // <prefix>-<digits>-of-<digits>
    const size_t of = stem.rfind("-of-");
    if (of == std::string_view::npos) return std::nullopt;
    const std::string_view count = stem.substr(of + 4);
    const size_t dash = stem.substr(0, of).rfind('-');
    if (dash == std::string_view::npos || dash == 0) return std::nullopt;
    const std::string_view index = stem.substr(dash + 1, of - dash - 1);
    const auto digits_only = [](std::string_view s) {
        return !s.empty() && s.size() <= 5 &&
               std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!digits_only(index) || !digits_only(count) || index.size() != count.size()) {
        return std::nullopt;
    }
    SplitName s;
    s.prefix = std::string(stem.substr(0, dash));
    s.index = std::stoi(std::string(index));
    s.count = std::stoi(std::string(count));
    s.digits = static_cast<int>(count.size());
    if (s.index < 1 || s.count < 1 || s.index > s.count) return std::nullopt;
    return s;
}

std::string split_part_name(const SplitName& split, int index) {
    auto pad = [&](int v) {
        std::string n = std::to_string(v);
        return std::string(n.size() < static_cast<size_t>(split.digits)
                               ? static_cast<size_t>(split.digits) - n.size()
                               : 0,
                           '0') +
               n;
    };
    return split.prefix + "-" + pad(index) + "-of-" + pad(split.count) + ".gguf";
}

std::vector<std::string> parse_model_file_list(std::string_view json_text) {
    const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("the repository's file list is not valid JSON");
    std::vector<std::string> files;
    if (j.is_object()) {  // /api/models/{repo}: {"siblings": [{"rfilename": ...}]}
        const auto it = j.find("siblings");
        if (it == j.end() || !it->is_array()) {
            throw std::runtime_error("the repository's model info has no file list (siblings)");
        }
        for (const auto& entry : *it) {
            if (!entry.is_object()) continue;
            const auto name = entry.find("rfilename");
            if (name != entry.end() && name->is_string()) files.push_back(name->get<std::string>());
        }
    } else if (j.is_array()) {  // /api/models/{repo}/tree/{rev}: [{"type": "file", "path": ...}]
        for (const auto& entry : j) {
            if (!entry.is_object()) continue;
            const auto type = entry.find("type");
            const auto path = entry.find("path");
            if (type != entry.end() && *type == "file" && path != entry.end() &&
                path->is_string()) {
                files.push_back(path->get<std::string>());
            }
        }
    } else {
        throw std::runtime_error("the repository's file list has an unexpected shape");
    }
    return files;
}

std::vector<std::string> available_quants(const std::vector<std::string>& files) {
    std::set<std::string> quants;
    for (const std::string& f : files) {
        if (!is_candidate(f) || !is_repo_path(f)) continue;
        const std::string stem = file_stem_for_quant(f);
        const size_t cut = stem.find_last_of("-.");
        quants.insert(cut == std::string::npos ? stem : stem.substr(cut + 1));
    }
    return {quants.begin(), quants.end()};
}

std::string select_quant_file(const std::vector<std::string>& files, std::string_view quant) {
    const std::string q = lower(quant);
    std::set<std::string> matches;
    std::string unusable;  // why the first matching name that is not a safe path was skipped
    for (const std::string& f : files) {
        if (!is_candidate(f)) continue;
        const std::string stem = lower(file_stem_for_quant(f));
        if (stem.size() < q.size() || stem.compare(stem.size() - q.size(), q.size(), q) != 0) {
            continue;
        }
        const size_t before = stem.size() - q.size();
        if (before != 0 && stem[before - 1] != '-' && stem[before - 1] != '.') continue;
        // A listed name becomes a URL path and a file name in the model
        // directory: it must pass the rules a typed path does.
        try {
            check_repo_path(f);
        } catch (const std::invalid_argument& e) {
            if (unusable.empty()) unusable = e.what();
            continue;
        }
        matches.insert(canonical_part(f));
    }
    if (matches.empty() && !unusable.empty()) {
        throw std::runtime_error("no usable .gguf file with quantization '" + std::string(quant) +
                                 "': the file list's " + unusable);
    }
    if (matches.empty()) {
        const auto quants = available_quants(files);
        throw std::runtime_error("no .gguf file with quantization '" + std::string(quant) + "' (" +
                                 (quants.empty() ? std::string("the repository has no .gguf files")
                                                 : "available: " + join(quants)) +
                                 ")");
    }
    if (matches.size() > 1) {
        throw std::runtime_error(
            "quantization '" + std::string(quant) + "' matches several files: " +
            join({matches.begin(), matches.end()}) + " (name one with hf://OWNER/REPO/FILE.gguf)");
    }
    return *matches.begin();
}

std::optional<std::string> sha256_from_etag(std::string_view etag) {
    if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
        etag = etag.substr(1, etag.size() - 2);
    }
    if (!is_hex64(etag)) return std::nullopt;
    return lower(etag);
}

std::optional<uint64_t> parse_u64(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

std::optional<uint64_t> total_from_content_range(std::string_view value) {
    if (value.rfind("bytes ", 0) != 0) return std::nullopt;
    const size_t slash = value.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    return parse_u64(value.substr(slash + 1));
}

std::optional<uint64_t> start_from_content_range(std::string_view value) {
    if (value.rfind("bytes ", 0) != 0) return std::nullopt;
    value.remove_prefix(6);
    const size_t dash = value.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    return parse_u64(value.substr(0, dash));
}

}  // namespace pensieve::registry
