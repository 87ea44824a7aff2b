// UTF-8 decoding per Unicode 14 §3.9 Table 3-7 (well-formed byte sequences).
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer::utf8 {
namespace {

// Valid range of the second byte given the lead byte; {0, 0} for bad leads.
struct SecondRange {
    uint8_t lo, hi;
};

SecondRange second_range(uint8_t lead) {
    if (lead >= 0xC2 && lead <= 0xDF) return {0x80, 0xBF};
    if (lead == 0xE0) return {0xA0, 0xBF};
    if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return {0x80, 0xBF};
    if (lead == 0xED) return {0x80, 0x9F};
    if (lead == 0xF0) return {0x90, 0xBF};
    if (lead >= 0xF1 && lead <= 0xF3) return {0x80, 0xBF};
    if (lead == 0xF4) return {0x80, 0x8F};
    return {0, 0};
}

size_t expected_length(uint8_t lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// How many bytes from pos form a well-formed prefix of a sequence (<= need).
size_t valid_prefix(std::string_view s, size_t pos, size_t need) {
    const auto lead = static_cast<uint8_t>(s[pos]);
    size_t n = 1;
    while (n < need && pos + n < s.size()) {
        const auto b = static_cast<uint8_t>(s[pos + n]);
        if (n == 1) {
            const SecondRange r = second_range(lead);
            if (b < r.lo || b > r.hi) break;
        } else if (b < 0x80 || b > 0xBF) {
            break;
        }
        ++n;
    }
    return n;
}

}  // namespace

size_t sequence_length(std::string_view s, size_t pos, size_t* subpart) {
    const auto lead = static_cast<uint8_t>(s[pos]);
    const size_t need = expected_length(lead);
    if (need == 1) {
        if (subpart) *subpart = 1;
        return 1;
    }
    if (need == 0) {
        if (subpart) *subpart = 1;
        return 0;
    }
    const size_t have = valid_prefix(s, pos, need);
    if (subpart) *subpart = have;
    return have == need ? need : 0;
}

uint32_t decode_at(std::string_view s, size_t pos, size_t len) {
    const auto b0 = static_cast<uint8_t>(s[pos]);
    if (len == 1) return b0;
    uint32_t cp = b0 & (0x7Fu >> len);
    for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3Fu);
    return cp;
}

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::vector<uint32_t> decode_lossy(std::string_view s) {
    std::vector<uint32_t> cps;
    cps.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        size_t subpart = 1;
        const size_t len = sequence_length(s, pos, &subpart);
        if (len == 0) {
            cps.push_back(kReplacement);
            pos += subpart;
        } else {
            cps.push_back(decode_at(s, pos, len));
            pos += len;
        }
    }
    return cps;
}

bool is_valid(std::string_view s) {
    for (size_t pos = 0; pos < s.size();) {
        const size_t len = sequence_length(s, pos);
        if (len == 0) return false;
        pos += len;
    }
    return true;
}

std::string make_valid(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        size_t subpart = 1;
        const size_t len = sequence_length(s, pos, &subpart);
        if (len == 0) {
            append(out, kReplacement);
            pos += subpart;
        } else {
            out.append(s.substr(pos, len));
            pos += len;
        }
    }
    return out;
}

size_t complete_prefix(std::string_view s) {
    // A trailing incomplete sequence is at most 3 bytes long: look back for
    // its lead byte.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto b = static_cast<uint8_t>(s[n - back]);
        if (b < 0x80) return n;                // ASCII: nothing pending
        if (b >= 0x80 && b <= 0xBF) continue;  // continuation byte: keep looking
        const size_t need = expected_length(b);
        if (need == 0) return n;  // invalid lead: nothing to wait for
        if (need > back && valid_prefix(s, n - back, need) == back) return n - back;
        return n;
    }
    return n;
}

}  // namespace pensieve::tokenizer::utf8
