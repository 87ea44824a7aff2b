// Provenance of template strings: which bytes came from the client (the request JSON)
// and which from the template itself. Only template text may become control tokens
// (<start_of_turn>, <|eot_id|>); client text is tokenized as the characters it spells,
// however the template trimmed, sliced, replaced or joined it on the way to the output.
//
// A string carries a sorted list of [begin, end) byte ranges of client text. String
// operations propagate the ranges exactly where they can (concatenation, slicing,
// strip, split, replace, join, format) and otherwise mark the whole result as client
// text when any input byte was (case changes, escaping): mistakes may only ever turn
// template text into plain text, never client text into control tokens.
// Template text has no ranges and allocates nothing for them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::chat {

class Value;

struct ByteRange {
    std::size_t begin = 0;
    std::size_t end = 0;  // exclusive
    bool operator==(const ByteRange&) const = default;
};

// Sorted, disjoint, non-adjacent ranges (adjacent ones are merged as they are added).
class ClientRanges {
  public:
    ClientRanges() = default;
    static ClientRanges whole(std::size_t size);

    bool empty() const { return ranges_.empty(); }
    const std::vector<ByteRange>& ranges() const { return ranges_; }

    // Marks [begin, end) as client text; begin must not be before the last range's end
    // (strings are built front to back).
    void add(std::size_t begin, std::size_t end);
    // The ranges of other[begin, end), shifted to start at `offset` here.
    void append_slice(const ClientRanges& other, std::size_t begin, std::size_t end,
                      std::size_t offset);
    // The ranges inside [begin, end), shifted to start at 0 (a substring's ranges).
    ClientRanges slice(std::size_t begin, std::size_t end) const;
    // Whether any byte of [begin, end) is client text.
    bool overlaps(std::size_t begin, std::size_t end) const;

  private:
    std::size_t first_ending_after(
        std::size_t pos) const;  // index of the first range with end > pos
    std::vector<ByteRange> ranges_;
};

// A string under construction with its client ranges: what a render produces and what
// string operations build their results in.
struct TrackedText {
    std::string text;
    ClientRanges client;

    std::size_t size() const { return text.size(); }
    // Template text (or text computed by the template, such as a number).
    void append(std::string_view s) { text.append(s); }
    // Text with a known origin: all client text or none.
    void append(std::string_view s, bool is_client);
    // A str Value with its own ranges.
    void append(const Value& str);
    // Bytes [begin, end) of a str Value, with their ranges.
    void append_part(const Value& str, std::size_t begin, std::size_t end);
    // Text computed from `source` by an operation that does not track bytes (upper,
    // escape): all client text when any byte of `source` was.
    void append_derived(std::string_view s, const Value& source);
};

}  // namespace pensieve::chat
