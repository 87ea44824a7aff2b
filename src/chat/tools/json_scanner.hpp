// An incremental JSON validator: fed one byte at a time, it says whether the bytes so
// far are a valid prefix of one JSON value (RFC 8259) and where that value ends. The
// tool-call parser uses it to stream a call's arguments while the model writes them:
// every byte it accepts keeps the text a prefix of valid JSON, so argument deltas sent
// to a client always concatenate into valid JSON once the value completes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pensieve::chat {

class JsonScanner {
  public:
    enum class Step {
        More,        // byte accepted, the value is not complete yet
        Done,        // byte accepted and it completed the value
        DoneBefore,  // the value (a number) ended before this byte, which was not consumed
        Error,       // the byte cannot continue a JSON value
    };

    // Nesting deeper than `max_depth` containers is an Error (bounded memory).
    explicit JsonScanner(std::size_t max_depth = 512) : max_depth_(max_depth) {}

    Step feed(char c);
    // Whether the value may end here (only a top-level number is completed by the end
    // of input rather than by a byte).
    bool complete_at_end() const;
    void reset();

  private:
    enum class State : uint8_t {
        Value,            // expecting a value
        ObjectKeyOrEnd,   // after '{'
        ArrayValueOrEnd,  // after '['
        ObjectKey,        // after ',' in an object
        Colon,            // after a key
        AfterValue,       // inside a container, after a value: ',' or the closer
        String,           // inside a string
        StringEscape,     // after a backslash
        StringHex,        // inside \uXXXX
        Literal,          // inside true / false / null
        Number,           // inside a number
        Finished,
    };
    enum class NumberPart : uint8_t { Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits };

    Step value_start(char c);
    Step value_end();
    Step number(char c);

    std::size_t max_depth_;
    State state_ = State::Value;
    std::vector<char> stack_;  // '{' or '['
    bool string_is_key_ = false;
    int hex_left_ = 0;
    const char* literal_ = nullptr;  // remaining bytes of true/false/null
    NumberPart number_part_ = NumberPart::Minus;
};

}  // namespace pensieve::chat
