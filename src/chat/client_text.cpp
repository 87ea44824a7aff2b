// Client-text ranges and the tracked string builder. See client_text.hpp.
#include "chat/client_text.hpp"

#include <algorithm>

#include "chat/value.hpp"

namespace pensieve::chat {

ClientRanges ClientRanges::whole(std::size_t size) {
    ClientRanges r;
    r.add(0, size);
    return r;
}

void ClientRanges::add(std::size_t begin, std::size_t end) {
    if (begin >= end) return;
    if (!ranges_.empty() && ranges_.back().end >= begin) {
        ranges_.back().end = std::max(ranges_.back().end, end);
        return;
    }
    ranges_.push_back({begin, end});
}

std::size_t ClientRanges::first_ending_after(std::size_t pos) const {
    const auto it = std::upper_bound(ranges_.begin(), ranges_.end(), pos,
                                     [](std::size_t p, const ByteRange& r) { return p < r.end; });
    return static_cast<std::size_t>(it - ranges_.begin());
}

void ClientRanges::append_slice(const ClientRanges& other, std::size_t begin, std::size_t end,
                                std::size_t offset) {
    if (other.ranges_.empty() || begin >= end) return;
    for (std::size_t i = other.first_ending_after(begin); i < other.ranges_.size(); ++i) {
        const ByteRange& r = other.ranges_[i];
        if (r.begin >= end) break;
        add(offset + std::max(r.begin, begin) - begin, offset + std::min(r.end, end) - begin);
    }
}

ClientRanges ClientRanges::slice(std::size_t begin, std::size_t end) const {
    ClientRanges out;
    out.append_slice(*this, begin, end, 0);
    return out;
}

bool ClientRanges::overlaps(std::size_t begin, std::size_t end) const {
    if (ranges_.empty() || begin >= end) return false;
    const std::size_t i = first_ending_after(begin);
    return i < ranges_.size() && ranges_[i].begin < end;
}

void TrackedText::append(std::string_view s, bool is_client) {
    if (is_client) client.add(text.size(), text.size() + s.size());
    text.append(s);
}

void TrackedText::append(const Value& str) {
    const std::string& s = str.str();
    if (!str.client_ranges().empty()) client.append_slice(str.client_ranges(), 0, s.size(), size());
    text.append(s);
}

void TrackedText::append_part(const Value& str, std::size_t begin, std::size_t end) {
    if (begin >= end) return;
    client.append_slice(str.client_ranges(), begin, end, size());
    text.append(str.str(), begin, end - begin);
}

void TrackedText::append_derived(std::string_view s, const Value& source) {
    append(s, source.is_string() && !source.client_ranges().empty());
}

}  // namespace pensieve::chat
