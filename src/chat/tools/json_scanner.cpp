// Incremental JSON validation, one byte at a time. See json_scanner.hpp.
#include "chat/tools/json_scanner.hpp"

namespace pensieve::chat {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void JsonScanner::reset() {
    state_ = State::Value;
    stack_.clear();
    string_is_key_ = false;
    hex_left_ = 0;
    literal_ = nullptr;
    number_part_ = NumberPart::Minus;
}

bool JsonScanner::complete_at_end() const {
    if (state_ == State::Finished) return true;
    if (state_ != State::Number || !stack_.empty()) return false;
    return number_part_ == NumberPart::Zero || number_part_ == NumberPart::Int ||
           number_part_ == NumberPart::Frac || number_part_ == NumberPart::ExpDigits;
}

JsonScanner::Step JsonScanner::value_end() {
    if (stack_.empty()) {
        state_ = State::Finished;
        return Step::Done;
    }
    state_ = State::AfterValue;
    return Step::More;
}

JsonScanner::Step JsonScanner::value_start(char c) {
    switch (c) {
        case '{':
        case '[':
            if (stack_.size() >= max_depth_) return Step::Error;
            stack_.push_back(c);
            state_ = c == '{' ? State::ObjectKeyOrEnd : State::ArrayValueOrEnd;
            return Step::More;
        case '"':
            string_is_key_ = false;
            state_ = State::String;
            return Step::More;
        case 't':
            literal_ = "rue";
            state_ = State::Literal;
            return Step::More;
        case 'f':
            literal_ = "alse";
            state_ = State::Literal;
            return Step::More;
        case 'n':
            literal_ = "ull";
            state_ = State::Literal;
            return Step::More;
        case '-':
            number_part_ = NumberPart::Minus;
            state_ = State::Number;
            return Step::More;
        default:
            if (!is_digit(c)) return Step::Error;
            number_part_ = c == '0' ? NumberPart::Zero : NumberPart::Int;
            state_ = State::Number;
            return Step::More;
    }
}

JsonScanner::Step JsonScanner::number(char c) {
    const bool exp = c == 'e' || c == 'E';
    switch (number_part_) {
        case NumberPart::Minus:
            if (!is_digit(c)) return Step::Error;
            number_part_ = c == '0' ? NumberPart::Zero : NumberPart::Int;
            return Step::More;
        case NumberPart::Zero:
        case NumberPart::Int:
            if (is_digit(c) && number_part_ == NumberPart::Int) return Step::More;
            if (c == '.') {
                number_part_ = NumberPart::Dot;
                return Step::More;
            }
            if (exp) {
                number_part_ = NumberPart::Exp;
                return Step::More;
            }
            break;
        case NumberPart::Dot:
            if (!is_digit(c)) return Step::Error;
            number_part_ = NumberPart::Frac;
            return Step::More;
        case NumberPart::Frac:
            if (is_digit(c)) return Step::More;
            if (exp) {
                number_part_ = NumberPart::Exp;
                return Step::More;
            }
            break;
        case NumberPart::Exp:
            if (c == '+' || c == '-') {
                number_part_ = NumberPart::ExpSign;
                return Step::More;
            }
            [[fallthrough]];
        case NumberPart::ExpSign:
            if (!is_digit(c)) return Step::Error;
            number_part_ = NumberPart::ExpDigits;
            return Step::More;
        case NumberPart::ExpDigits:
            if (is_digit(c)) return Step::More;
            break;
    }
    // The number ended before `c`; inside a container `c` continues the container.
    if (value_end() == Step::Done) return Step::DoneBefore;
    return feed(c);
}

JsonScanner::Step JsonScanner::feed(char c) {
    switch (state_) {
        case State::Value:
            if (is_space(c)) return Step::More;
            return value_start(c);
        case State::ArrayValueOrEnd:
            if (is_space(c)) return Step::More;
            if (c == ']') {
                stack_.pop_back();
                return value_end();
            }
            return value_start(c);
        case State::ObjectKeyOrEnd:
        case State::ObjectKey:
            if (is_space(c)) return Step::More;
            if (c == '}' && state_ == State::ObjectKeyOrEnd) {
                stack_.pop_back();
                return value_end();
            }
            if (c != '"') return Step::Error;
            string_is_key_ = true;
            state_ = State::String;
            return Step::More;
        case State::Colon:
            if (is_space(c)) return Step::More;
            if (c != ':') return Step::Error;
            state_ = State::Value;
            return Step::More;
        case State::AfterValue:
            if (is_space(c)) return Step::More;
            if (c == ',') {
                state_ = stack_.back() == '{' ? State::ObjectKey : State::Value;
                return Step::More;
            }
            if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
                stack_.pop_back();
                return value_end();
            }
            return Step::Error;
        case State::String:
            if (c == '"') {
                if (!string_is_key_) return value_end();
                state_ = State::Colon;
                return Step::More;
            }
            if (c == '\\') {
                state_ = State::StringEscape;
                return Step::More;
            }
            return static_cast<unsigned char>(c) < 0x20 ? Step::Error : Step::More;
        case State::StringEscape:
            if (c == 'u') {
                hex_left_ = 4;
                state_ = State::StringHex;
                return Step::More;
            }
            if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
                c != 't') {
                return Step::Error;
            }
            state_ = State::String;
            return Step::More;
        case State::StringHex:
            if (!is_hex(c)) return Step::Error;
            if (--hex_left_ == 0) state_ = State::String;
            return Step::More;
        case State::Literal:
            if (c != *literal_) return Step::Error;
            if (*++literal_ == '\0') return value_end();
            return Step::More;
        case State::Number:
            return number(c);
        case State::Finished:
            return Step::Error;
    }
    return Step::Error;
}

}  // namespace pensieve::chat
