// Python str semantics over UTF-8. See pystr.hpp.
#include "chat/pystr.hpp"

#include <string.h>  // memmem (POSIX 2024, glibc, the BSDs)

#include <algorithm>
#include <array>

namespace pensieve::chat::pystr {

char32_t decode(std::string_view s, std::size_t& pos) {
    const auto b0 = static_cast<unsigned char>(s[pos]);
    int len = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
        ++pos;
        return b0;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        ++pos;
        return b0;
    }
    if (pos + static_cast<std::size_t>(len) > s.size()) {
        ++pos;
        return b0;
    }
    for (int i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
        if ((b & 0xC0) != 0x80) {
            ++pos;
            return b0;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    pos += static_cast<std::size_t>(len);
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool is_ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

std::size_t length(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t pos = 0; pos < s.size(); ++n) decode(s, pos);
    return n;
}

std::size_t prev_start(std::string_view s, std::size_t end) {
    // Every byte that is not a continuation byte starts a code point; a continuation
    // byte belongs to the sequence of the lead byte before it when that sequence ends
    // exactly here, and otherwise stands alone (decode's one-byte fallback).
    const auto continuation = [&](std::size_t i) {
        return (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
    };
    if (!continuation(end - 1)) return end - 1;
    std::size_t lead = end - 1;
    while (lead > 0 && end - lead < 4 && continuation(lead)) --lead;
    if (continuation(lead)) return end - 1;
    std::size_t next = lead;
    decode(s, next);
    return next == end ? lead : end - 1;
}

bool is_space(char32_t cp) {
    switch (cp) {
        case 0x09:
        case 0x0A:
        case 0x0B:
        case 0x0C:
        case 0x0D:
        case 0x1C:
        case 0x1D:
        case 0x1E:
        case 0x1F:
        case 0x20:
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool is_linebreak(char32_t cp) {
    switch (cp) {
        case 0x0A:
        case 0x0B:
        case 0x0C:
        case 0x0D:
        case 0x1C:
        case 0x1D:
        case 0x1E:
        case 0x85:
        case 0x2028:
        case 0x2029:
            return true;
        default:
            return false;
    }
}

namespace {

// The span left after stripping code points matching `pred` from the chosen ends.
template <typename Pred>
ByteRange strip_span_if(std::string_view s, bool left, bool right, Pred pred) {
    std::size_t begin = 0;
    std::size_t end = s.size();
    if (left) {
        while (begin < end) {
            std::size_t next = begin;
            if (!pred(decode(s, next))) break;
            begin = next;
        }
    }
    if (right) {
        while (end > begin) {
            std::size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
                --start;
            }
            std::size_t probe = start;
            if (!pred(decode(s, probe))) break;
            end = start;
        }
    }
    return {begin, end};
}

std::string substr(std::string_view s, ByteRange r) {
    return std::string(s.substr(r.begin, r.end - r.begin));
}

std::vector<std::string> substrs(std::string_view s, const std::vector<ByteRange>& spans) {
    std::vector<std::string> out;
    out.reserve(spans.size());
    for (const ByteRange& r : spans) out.push_back(substr(s, r));
    return out;
}

// The start of the code point that ends just before `end`.
std::size_t prev_cp(std::string_view s, std::size_t end) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    return start;
}

bool space_at(std::string_view s, std::size_t pos) {
    return is_space(decode(s, pos));
}

char32_t ascii_upper(char32_t c) {
    return (c >= 'a' && c <= 'z') ? c - 32 : c;
}
char32_t ascii_lower(char32_t c) {
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// Simple one-to-one case mappings for Latin-1 and Cyrillic; other scripts are left
// unchanged (documented gap: Python maps all of Unicode).
char32_t cp_upper(char32_t c) {
    if (c < 0x80) return ascii_upper(c);
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 0x20;
    if (c >= 0x430 && c <= 0x44F) return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    return c;
}
char32_t cp_lower(char32_t c) {
    if (c < 0x80) return ascii_lower(c);
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 0x20;
    if (c >= 0x410 && c <= 0x42F) return c + 0x20;
    if (c >= 0x400 && c <= 0x40F) return c + 0x50;
    return c;
}
bool is_cased(char32_t c) {
    return cp_upper(c) != c || cp_lower(c) != c;
}

template <typename F>
std::string map_cp(std::string_view s, F f) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) append_utf8(out, f(decode(s, pos)));
    return out;
}

}  // namespace

ByteRange strip_span(std::string_view s, bool left, bool right) {
    return strip_span_if(s, left, right, is_space);
}

ByteRange strip_chars_span(std::string_view s, std::string_view chars, bool left, bool right) {
    // A table for ASCII and a sorted list for the rest, so that each code point of `s`
    // is looked up in log time: a linear scan of a 20 MB `chars` per code point of a
    // 60 MB `s` runs for days.
    std::array<bool, 128> ascii{};
    std::vector<char32_t> others;
    for (std::size_t pos = 0; pos < chars.size();) {
        const char32_t cp = decode(chars, pos);
        if (cp < 128) {
            ascii[cp] = true;
        } else {
            others.push_back(cp);
        }
    }
    std::sort(others.begin(), others.end());
    others.erase(std::unique(others.begin(), others.end()), others.end());
    return strip_span_if(s, left, right, [&](char32_t cp) {
        return cp < 128 ? ascii[cp] : std::binary_search(others.begin(), others.end(), cp);
    });
}

std::string strip(std::string_view s, bool left, bool right) {
    return substr(s, strip_span(s, left, right));
}

std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
    return substr(s, strip_chars_span(s, chars, left, right));
}

std::string upper(std::string_view s) {
    return map_cp(s, cp_upper);
}
std::string lower(std::string_view s) {
    return map_cp(s, cp_lower);
}

std::string swapcase(std::string_view s) {
    return map_cp(s, [](char32_t c) {
        const char32_t up = cp_upper(c);
        return up != c ? up : cp_lower(c);
    });
}

std::string capitalize(std::string_view s) {
    bool first = true;
    return map_cp(s, [&](char32_t c) {
        const char32_t r = first ? cp_upper(c) : cp_lower(c);
        first = false;
        return r;
    });
}

std::string title(std::string_view s) {
    bool prev_cased = false;
    return map_cp(s, [&](char32_t c) {
        const char32_t r = prev_cased ? cp_lower(c) : cp_upper(c);
        prev_cased = is_cased(c);
        return r;
    });
}

std::string jinja_title(std::string_view s) {
    // jinja2: "".join(w[0].upper() + w[1:].lower() for w in re.split(r"([-\s({\[<]+)", s))
    auto is_sep = [](char32_t c) {
        return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_space(c);
    };
    bool word_start = true;
    return map_cp(s, [&](char32_t c) {
        if (is_sep(c)) {
            word_start = true;
            return c;
        }
        const char32_t r = word_start ? cp_upper(c) : cp_lower(c);
        word_start = false;
        return r;
    });
}

std::size_t find_bytes(std::string_view s, std::string_view sub, std::size_t from) {
    if (from > s.size()) return std::string_view::npos;
    if (sub.empty()) return from;
    // glibc's memmem runs the Two-Way algorithm: linear time, constant memory.
    const void* hit = memmem(s.data() + from, s.size() - from, sub.data(), sub.size());
    if (!hit) return std::string_view::npos;
    return static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
}

std::size_t rfind_bytes(std::string_view s, std::string_view sub) {
    if (sub.size() > s.size()) return std::string_view::npos;
    if (sub.empty()) return s.size();
    // The first match in the reversed text is the last one here.
    const std::string rs(s.rbegin(), s.rend());
    const std::string rsub(sub.rbegin(), sub.rend());
    const std::size_t hit = find_bytes(rs, rsub);
    return hit == std::string_view::npos ? hit : s.size() - hit - sub.size();
}

std::vector<ByteRange> split_spans(std::string_view s, std::string_view sep, bool whitespace,
                                   int64_t maxsplit) {
    std::vector<ByteRange> out;
    if (whitespace) {
        std::size_t pos = 0;
        while (pos < s.size()) {
            std::size_t next = pos;
            while (pos < s.size()) {  // skip whitespace
                next = pos;
                if (!is_space(decode(s, next))) break;
                pos = next;
            }
            if (pos >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
                out.push_back({pos, s.size()});  // the rest keeps trailing whitespace
                return out;
            }
            const std::size_t start = pos;
            while (pos < s.size()) {
                next = pos;
                if (is_space(decode(s, next))) break;
                pos = next;
            }
            out.push_back({start, pos});
        }
        return out;
    }
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const std::size_t hit = find_bytes(s, sep, start);
        if (hit == std::string_view::npos) break;
        out.push_back({start, hit});
        start = hit + sep.size();
    }
    out.push_back({start, s.size()});
    return out;
}

std::vector<ByteRange> rsplit_spans(std::string_view s, std::string_view sep, bool whitespace,
                                    int64_t maxsplit) {
    if (maxsplit < 0) return split_spans(s, sep, whitespace, maxsplit);
    std::vector<ByteRange> out;
    if (whitespace) {
        // Python's rsplit(None, n): words from the right; the rest keeps its leading
        // whitespace and loses its trailing whitespace.
        std::size_t end = s.size();
        while (end > 0) {
            while (end > 0 && space_at(s, prev_cp(s, end))) end = prev_cp(s, end);
            if (end == 0) break;
            if (static_cast<int64_t>(out.size()) == maxsplit) {
                out.push_back({0, end});
                break;
            }
            std::size_t start = end;
            while (start > 0 && !space_at(s, prev_cp(s, start))) start = prev_cp(s, start);
            out.push_back({start, end});
            end = start;
        }
        std::reverse(out.begin(), out.end());
        return out;
    }
    // Separators from the right are the separators of the reversed text from the left.
    const std::string rs(s.rbegin(), s.rend());
    const std::string rsep(sep.rbegin(), sep.rend());
    std::size_t end = s.size();
    std::size_t from = 0;  // in rs
    while (static_cast<int64_t>(out.size()) < maxsplit) {
        const std::size_t hit = find_bytes(rs, rsep, from);
        if (hit == std::string_view::npos) break;
        // rs[hit, hit + m) is s[n - hit - m, n - hit).
        out.push_back({s.size() - hit, end});
        end = s.size() - hit - sep.size();
        from = hit + sep.size();
    }
    out.push_back({0, end});
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<ByteRange> splitlines_spans(std::string_view s, bool keepends, std::size_t max_lines) {
    std::vector<ByteRange> out;
    std::size_t start = 0;
    std::size_t pos = 0;
    while (pos < s.size()) {
        if (out.size() > max_lines) return out;
        const std::size_t at = pos;
        const char32_t cp = decode(s, pos);
        if (!is_linebreak(cp)) continue;
        std::size_t end = pos;
        if (cp == '\r' && pos < s.size() && s[pos] == '\n') end = ++pos;
        out.push_back({start, keepends ? end : at});
        start = pos;
    }
    if (start < s.size()) out.push_back({start, s.size()});
    return out;
}

std::vector<std::string> split(std::string_view s, std::string_view sep, bool whitespace,
                               int64_t maxsplit) {
    return substrs(s, split_spans(s, sep, whitespace, maxsplit));
}

std::vector<std::string> rsplit(std::string_view s, std::string_view sep, bool whitespace,
                                int64_t maxsplit) {
    return substrs(s, rsplit_spans(s, sep, whitespace, maxsplit));
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
    return substrs(s, splitlines_spans(s, keepends));
}

int64_t count(std::string_view s, std::string_view sub) {
    if (sub.empty()) return static_cast<int64_t>(length(s)) + 1;
    int64_t n = 0;
    for (std::size_t pos = find_bytes(s, sub); pos != std::string_view::npos;
         pos = find_bytes(s, sub, pos + sub.size())) {
        ++n;
    }
    return n;
}

int64_t find(std::string_view s, std::string_view sub, bool reverse) {
    const std::size_t hit = reverse ? rfind_bytes(s, sub) : find_bytes(s, sub);
    if (hit == std::string_view::npos) return -1;
    return static_cast<int64_t>(length(s.substr(0, hit)));
}

std::string repr(std::string_view s, std::size_t max_bytes) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    static const char* hex = "0123456789abcdef";
    for (std::size_t pos = 0; pos < s.size();) {
        if (out.size() > max_bytes) return out;
        const char32_t cp = decode(s, pos);
        if (cp == static_cast<char32_t>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) {
            out += "\\x";
            out += hex[(cp >> 4) & 0xF];
            out += hex[cp & 0xF];
        } else if ((cp != 0x20 && is_space(cp)) || (cp >= 0x200B && cp <= 0x200F) ||
                   (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF) {
            // Non-printable per Python's str.isprintable (separators, format chars).
            out += "\\u";
            for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
        } else {
            append_utf8(out, cp);
        }
    }
    out += quote;
    return out;
}

}  // namespace pensieve::chat::pystr
