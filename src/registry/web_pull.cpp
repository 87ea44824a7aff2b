// Web downloads with resume, GGUF magic check, SHA-256 verification and
// atomic rename; see web_pull.hpp.
#include "registry/web_pull.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/mapped_file.hpp"
#include "registry/http_fetch.hpp"
#include "registry/sha256.hpp"

namespace pensieve::registry {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxFileListBytes = size_t{32} << 20;
// Split GGUFs in practice have at most a few hundred parts; a name claiming
// more (up to 99999 fit the pattern) would start that many downloads.
constexpr int kMaxSplitParts = 1000;
constexpr uint64_t kDiskMargin = uint64_t{16} << 20;  // left free for everything else

std::string mib(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
    return text;
}

// A lost connection: the partial file stays for the next attempt.
class LostConnection : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The server cannot continue from the partial file: start it over once.
struct StartOver {};

// `<final>.partial`, opened for appending and locked so that two pulls of the
// same file do not interleave their bytes.
class PartialFile {
  public:
    explicit PartialFile(fs::path path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw std::runtime_error("cannot write " + path_.string() + ": " +
                                     std::strerror(errno));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            throw std::runtime_error("another `pensieve pull` is writing " + path_.string());
        }
        ::lseek(fd_, 0, SEEK_END);
    }
    ~PartialFile() { ::close(fd_); }
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    uint64_t size() const {
        struct stat st {};
        return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    }
    void clear() {
        if (::ftruncate(fd_, 0) != 0) throw std::runtime_error("cannot truncate " + path_.string());
        ::lseek(fd_, 0, SEEK_SET);
    }
    void append(const char* data, size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(fd_, data, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                throw std::runtime_error(errno == ENOSPC || errno == EDQUOT
                                             ? "the disk is full while writing " + path_.string()
                                             : "cannot write " + path_.string() + ": " +
                                                   std::strerror(errno));
            }
            data += w;
            n -= static_cast<size_t>(w);
        }
    }
    // Feeds the bytes already in the file to `hash`; returns the first four.
    std::string rehash(Sha256& hash) const {
        std::vector<char> buf(1 << 20);
        std::string head;
        off_t at = 0;
        for (;;) {
            const ssize_t r = ::pread(fd_, buf.data(), buf.size(), at);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw std::runtime_error("cannot read " + path_.string());
            if (r == 0) break;
            if (head.size() < 4)
                head.append(buf.data(), std::min<size_t>(4 - head.size(), static_cast<size_t>(r)));
            hash.update(buf.data(), static_cast<size_t>(r));
            at += r;
        }
        return head;
    }

  private:
    fs::path path_;
    int fd_ = -1;
};

struct FileJob {
    std::string url;
    std::string token;
    fs::path final_path;
    std::string expected_sha256;  // from --sha256, or ""
    const WebSource* source = nullptr;
    std::string repo_file;  // path inside the Hugging Face repository, or ""
};

bool is_hugging_face(const WebSource& s) {
    return s.kind != WebSource::Kind::Url;
}

std::string repo_name(const WebSource& s) {
    return s.owner + "/" + s.repo;
}

// A user-facing message for an HTTP error status.
std::string status_message(const WebSource& source, const std::string& url,
                           const std::string& repo_file, const HttpHeaders& h, bool token_sent) {
    const std::string code = std::to_string(h.status);
    if (!is_hugging_face(source)) {
        return url + ": " + (h.status == 404 ? "not found" : "the server refused") + " (HTTP " +
               code + ")";
    }
    const std::string* error_code = h.find("x-error-code");
    const std::string repo = repo_name(source);
    if (h.status == 401 || h.status == 403) {
        return repo + ": not found or not accessible (HTTP " + code + "): check the name" +
               (token_sent ? "; the HF_TOKEN sent does not grant access"
                           : "; for a private or gated repository set HF_TOKEN");
    }
    if (h.status == 404) {
        if (error_code != nullptr && *error_code == "RepoNotFound") {
            return "no repository " + repo + " (HTTP 404)";
        }
        if (error_code != nullptr && *error_code == "RevisionNotFound") {
            return "no revision '" + source.revision + "' in " + repo + " (HTTP 404)";
        }
        if (repo_file.empty()) return "no repository " + repo + " (HTTP 404)";
        return "no file " + repo_file + " in " + repo + " at revision " + source.revision +
               " (HTTP 404)";
    }
    return url + ": HTTP " + code;
}

std::string printable(const std::string& bytes) {
    std::string out;
    for (char c : bytes) out += (c >= 32 && c < 127) ? c : '.';
    return out;
}

// Bytes free for an unprivileged writer in `dir`; nullopt when it cannot tell.
std::optional<uint64_t> free_space(const fs::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

void check_disk_space(const fs::path& dir, uint64_t needed, const std::string& file) {
    const auto measured = free_space(dir);
    if (!measured) return;  // cannot tell: the writes will say
    const uint64_t free_bytes = *measured;
    if (free_bytes < needed || free_bytes - needed < kDiskMargin) {
        throw std::runtime_error("not enough disk space in " + dir.string() + ": " + file +
                                 " needs " + mib(needed) + " more, " + mib(free_bytes) + " free");
    }
}

// With no hash to compare, a download is kept only if it parses as a GGUF
// file (counts, lengths and every tensor's data inside the file), so one cut
// short by a server that stated no size is an error rather than a model.
void check_opens_as_gguf(const fs::path& path, const std::string& name) {
    try {
        // Parsed from its mapping, so that errors name the field, not the
        // temporary file's path.
        const gguf::MappedFile mapping(path);
        gguf::GgufFile::parse(mapping.bytes());
    } catch (const gguf::Error& e) {
        throw std::runtime_error(name + " is not a whole GGUF file (" + e.what() +
                                 "); the server states no SHA-256 to check it against, so the "
                                 "download was deleted");
    }
}

void download_file(HttpClient& client, const FileJob& job, size_t part, size_t parts,
                   const WebPullOptions& options) {
    const fs::path partial = job.final_path.string() + ".partial";
    const std::string name = job.final_path.filename().string();
    for (int attempt = 0;; ++attempt) {
        PartialFile file(partial);
        uint64_t have = file.size();
        try {
            auto hash = std::make_unique<Sha256>();
            std::string head = have > 0 ? file.rehash(*hash) : "";
            if (have > 0 && head.size() == 4 && head != "GGUF") {
                file.clear();
                hash = std::make_unique<Sha256>();
                head.clear();
                have = 0;
            }
            if (have > 0) options.on_note("resuming " + name + " at " + mib(have));
            const uint64_t resumed_from = have;
            uint64_t total = 0;
            uint64_t room = UINT64_MAX;  // bytes this attempt may add when total is unknown
            uint64_t room_from = have;   // `have` when `room` was measured
            std::string server_sha;
            WebPullProgress progress{name, part, parts, resumed_from, have, 0, false};

            HttpRequest request;
            request.url = job.url;
            request.bearer_token = job.token;
            request.range_from = have;
            const auto on_headers = [&](const std::vector<HttpHeaders>& chain) {
                const HttpHeaders& last = chain.back();
                if (last.status == 416 && have > 0 && attempt == 0) throw StartOver{};
                if (last.status < 200 || last.status >= 300) {
                    throw std::runtime_error(status_message(*job.source, job.url, job.repo_file,
                                                            last, !job.token.empty()));
                }
                for (const HttpHeaders& h : chain) {
                    if (const std::string* e = h.find("x-linked-etag")) {
                        if (const auto sha = sha256_from_etag(*e)) server_sha = *sha;
                    }
                }
                if (const std::string* e = last.find("etag"); e != nullptr && server_sha.empty()) {
                    if (const auto sha = sha256_from_etag(*e)) server_sha = *sha;
                }
                if (last.status == 206) {
                    const std::string* range = last.find("content-range");
                    if (range == nullptr || start_from_content_range(*range) != have) {
                        if (attempt == 0) throw StartOver{};
                        throw std::runtime_error(job.url +
                                                 ": the server answered a resume request "
                                                 "with the wrong range");
                    }
                    total = total_from_content_range(*range).value_or(0);
                } else {
                    if (have > 0) {  // the server ignored Range and sends the whole file
                        options.on_note("the server cannot resume; downloading " + name +
                                        " from the start");
                        file.clear();
                        hash = std::make_unique<Sha256>();
                        head.clear();
                        have = 0;
                        progress.resumed_from = 0;
                    }
                    if (const std::string* length = last.find("content-length")) {
                        total = parse_u64(*length).value_or(0);
                    }
                }
                for (const HttpHeaders& h : chain) {
                    const std::string* size = h.find("x-linked-size");
                    if (total == 0 && size != nullptr) total = parse_u64(*size).value_or(0);
                }
                if (!job.expected_sha256.empty() && !server_sha.empty() &&
                    job.expected_sha256 != server_sha) {
                    throw std::runtime_error("the server states SHA-256 " + server_sha + " for " +
                                             name + ", not the " + job.expected_sha256 +
                                             " given with --sha256");
                }
                if (total > have)
                    check_disk_space(job.final_path.parent_path(), total - have, name);
                if (total == 0) {
                    // No size stated: the body may be endless, so it may take
                    // at most the free space less the margin.
                    const auto free_bytes = free_space(job.final_path.parent_path());
                    room = !free_bytes                 ? UINT64_MAX
                           : *free_bytes > kDiskMargin ? *free_bytes - kDiskMargin
                                                       : 0;
                    room_from = have;
                }
                progress.bytes_done = have;
                progress.bytes_total = total;
                options.on_progress(progress);
            };
            const auto on_body = [&](const char* data, size_t n) {
                if (head.size() < 4) {
                    head.append(data, std::min<size_t>(n, 4 - head.size()));
                    if (std::string("GGUF").compare(0, head.size(), head) != 0) {
                        throw std::runtime_error(name + " is not a GGUF file (it starts with \"" +
                                                 printable(head) + "\")");
                    }
                }
                if (total > 0 && n > total - have) {
                    throw std::runtime_error(job.url + ": the server sent more than the " +
                                             std::to_string(total) + " bytes it announced");
                }
                if (total == 0 && n > room - (have - room_from)) {
                    throw std::runtime_error(
                        "the server states no size for " + name + " and sent more than the " +
                        mib(room) + " the disk has room for (the free space in " +
                        job.final_path.parent_path().string() + " less " + mib(kDiskMargin) +
                        " kept free); the download was deleted");
                }
                file.append(data, n);
                hash->update(data, n);
                have += n;
                progress.bytes_done = have;
                options.on_progress(progress);
            };
            try {
                client.get(request, on_headers, on_body);
            } catch (const HttpTransportError& e) {
                if (file.size() > 0) {
                    throw LostConnection("connection lost while downloading " + name + " after " +
                                         mib(have) + (total > 0 ? " of " + mib(total) : "") + " (" +
                                         e.what() + "); the partial download is kept as " +
                                         partial.string() +
                                         ": run the same `pensieve pull` again to resume");
                }
                throw std::runtime_error("cannot download " + job.url + ": " + e.what());
            }
            if (total > 0 && have < total) {
                throw LostConnection("the server closed the connection after " + mib(have) +
                                     " of " + mib(total) + " of " + name +
                                     "; the partial download is kept as " + partial.string() +
                                     ": run the same `pensieve pull` again to resume");
            }
            if (head != "GGUF") throw std::runtime_error(name + " is not a GGUF file (too short)");
            const std::string digest = hash->hex_digest();
            for (const std::string& expected : {job.expected_sha256, server_sha}) {
                if (!expected.empty() && digest != expected) {
                    throw std::runtime_error("SHA-256 mismatch for " + name + ": got " + digest +
                                             ", expected " + expected +
                                             "; the download was deleted");
                }
            }
            if (job.expected_sha256.empty() && server_sha.empty()) {
                check_opens_as_gguf(partial, name);
                options.on_note(total > 0 ? "the server states no SHA-256 for " + name +
                                                "; only its size and GGUF structure were checked"
                                          : "the server states neither a size nor a SHA-256 for " +
                                                name + "; only its GGUF structure was checked");
            }
            gguf::flush_and_uncache(partial);
            fs::rename(partial, job.final_path);
            progress.done = true;
            options.on_progress(progress);
            return;
        } catch (const StartOver&) {
            std::error_code ec;
            fs::remove(partial, ec);
            options.on_note("the partial download of " + name +
                            " does not fit the server's file; "
                            "starting over");
        } catch (const LostConnection&) {
            throw;
        } catch (...) {
            std::error_code ec;
            fs::remove(partial, ec);
            throw;
        }
    }
}

// The repository's file chosen by OWNER/REPO:QUANT.
std::string resolve_quant(HttpClient& client, const WebSource& source,
                          const WebPullOptions& options) {
    HttpRequest request;
    request.url = hf_model_info_url(options.endpoint, source);
    request.bearer_token = options.token;
    request.total_timeout_ms = 120000;
    long status = 0;
    std::string body;
    try {
        body = client.get_text(request, kMaxFileListBytes, &status);
    } catch (const HttpTransportError& e) {
        throw std::runtime_error("cannot reach " + options.endpoint + ": " + e.what());
    }
    if (status != 200) {
        HttpHeaders h;
        h.status = status;
        h.fields["x-error-code"] = status == 404 ? "RepoNotFound" : "";
        throw std::runtime_error(
            status_message(source, request.url, "", h, !options.token.empty()));
    }
    try {
        return select_quant_file(parse_model_file_list(body), source.quant);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(repo_name(source) + ": " + e.what());
    }
}

}  // namespace

WebPullResult pull_from_web(const WebSource& source, const WebPullOptions& options) {
    fs::create_directories(options.models_dir);
    HttpClient client;
    std::string repo_file = source.file;
    if (source.kind == WebSource::Kind::HfQuant) {
        repo_file = resolve_quant(client, source, options);
        options.on_note(repo_name(source) + ":" + source.quant + " is " + repo_file);
    }
    const bool hf = is_hugging_face(source);
    const std::string path = hf ? repo_file : source.file_name();
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);

    std::vector<std::string> names = {base};
    const auto split = parse_split_name(base);
    if (split) {
        if (split->count > kMaxSplitParts) {
            throw std::runtime_error(base + " names a split model of " +
                                     std::to_string(split->count) +
                                     " parts; `pensieve pull` fetches at most " +
                                     std::to_string(kMaxSplitParts) + " parts");
        }
        if (!options.sha256.empty()) {
            throw std::runtime_error("--sha256 checks a single file, but " + base +
                                     " is part of a " + std::to_string(split->count) +
                                     "-part split model (each part is checked against the "
                                     "server's hash)");
        }
        names.clear();
        for (int i = 1; i <= split->count; ++i) names.push_back(split_part_name(*split, i));
        if (split->count > 1) {
            options.on_note(base + " is one of " + std::to_string(split->count) +
                            " parts: fetching them all");
        }
    }
    const bool token_allowed = hf || url_host(source.url) == url_host(options.endpoint);
    WebPullResult result;
    result.already_present = true;
    for (size_t i = 0; i < names.size(); ++i) {
        FileJob job;
        job.source = &source;
        job.final_path = options.models_dir / names[i];
        job.expected_sha256 = options.sha256;
        job.token = token_allowed ? options.token : "";
        if (hf) {
            job.repo_file = dir + names[i];
            job.url = hf_resolve_url(options.endpoint, source, job.repo_file);
        } else {
            const size_t query = source.url.find_first_of("?#");
            const std::string url_path = source.url.substr(0, query);
            job.url = url_path.substr(0, url_path.rfind('/') + 1) + names[i] +
                      (query == std::string::npos ? "" : source.url.substr(query));
        }
        result.paths.push_back(job.final_path);
        std::error_code ec;
        if (!options.force && fs::is_regular_file(job.final_path, ec)) {
            options.on_note(names[i] + " is already present (use --force to download it again)");
            continue;
        }
        result.already_present = false;
        download_file(client, job, i, names.size(), options);
    }
    return result;
}

}  // namespace pensieve::registry
