// Incremental tool-call parsing. See tool_call_parser.hpp for the contract.
//
// The parser is a byte-driven state machine over three modes: Text (scanning for a call
// opener), Call (inside one call object, read by CallReader) and Between (after a call
// object: its closer, or separators before the next one). When a call turns out not to
// be one before it was announced, its bytes are replayed through Text mode, so an opener
// inside the failed text is still found.
#include "chat/tools/tool_call_parser.hpp"

#include <algorithm>
#include <random>

#include "chat/tools/json_scanner.hpp"

namespace pensieve::chat {

namespace {

using json = nlohmann::ordered_json;
using Step = JsonScanner::Step;

constexpr std::size_t kMaxHeldSpace = 64;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view opener_of(ToolCallSyntax syntax) {
    switch (syntax) {
        case ToolCallSyntax::Hermes:
            return "<tool_call>";
        case ToolCallSyntax::Llama:
            return "<|python_tag|>";
        case ToolCallSyntax::Mistral:
            return "[TOOL_CALLS]";
    }
    return "";
}

}  // namespace

std::string random_tool_use_id() {
    static constexpr std::string_view kBase62 =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<std::size_t> pick(0, kBase62.size() - 1);
    std::string id = "toolu_";
    for (int i = 0; i < 24; ++i) id += kBase62[pick(rng)];
    return id;
}

struct ToolCallParser::State {
    enum class Mode { Text, MistralOpen, Call, Between };
    enum class Obj { Open, KeyOrEnd, Key, KeyStr, Colon, ValueStart, Value, AfterValue };

    ToolCallSyntax syntax;
    ToolCallParserOptions opt;
    std::string_view opener;
    std::vector<ToolCallEvent> out;

    Mode mode = Mode::Text;
    std::string held;            // Text mode: not yet emitted
    bool at_reply_start = true;  // nothing but whitespace seen yet
    bool after_call = false;     // whitespace right after a call is dropped
    std::string pre_ws;          // whitespace dropped before an opener (restored on failure)
    bool mistral_array = false;
    std::size_t between_match = 0;  // Hermes: bytes of "</tool_call>" matched
    int calls = 0;                  // calls announced so far (the next call's index)
    int completed = 0;              // calls that ended with a parsed input

    // The current call object.
    std::string raw;  // bytes since the opener began (for fallback text)
    std::size_t opener_len = 0;
    Obj obj = Obj::Open;
    JsonScanner scan;
    std::string token;  // the current key or value's text
    std::string key;
    bool have_name = false;
    std::string name;
    bool have_args = false;
    std::string args;  // the arguments value's text
    bool committed = false;
    std::string id;

    State(ToolCallSyntax s, ToolCallParserOptions o)
        : syntax(s), opt(std::move(o)), opener(opener_of(s)) {
        if (!opt.make_id) opt.make_id = random_tool_use_id;
    }

    // --- emitting ------------------------------------------------------------------
    void emit_text(std::string_view t) {
        if (t.empty()) return;
        if (!out.empty() && out.back().kind == ToolCallEvent::Kind::Text) {
            out.back().text += t;
        } else {
            out.push_back({ToolCallEvent::Kind::Text, std::string(t), "", "", nullptr, 0});
        }
    }
    void emit_call(ToolCallEvent::Kind kind, std::string text = "", json input = nullptr) {
        if (kind == ToolCallEvent::Kind::ArgumentsDelta && !out.empty() &&
            out.back().kind == kind && out.back().id == id) {
            out.back().text += text;
            return;
        }
        out.push_back({kind, std::move(text), id, name, std::move(input), calls});
    }

    bool known(const std::string& n) const {
        return opt.known_tools.empty() || std::find(opt.known_tools.begin(), opt.known_tools.end(),
                                                    n) != opt.known_tools.end();
    }

    // --- call objects --------------------------------------------------------------
    void begin_object(std::size_t opener_bytes) {
        mode = Mode::Call;
        obj = Obj::Open;
        opener_len = opener_bytes;
        have_name = have_args = committed = false;
        name.clear();
        args.clear();
        key.clear();
        token.clear();
    }

    // Not a call after all: its text goes out as text and the rest is scanned again.
    std::string fail(char c, bool consumed_c) {
        std::string replay;
        if (committed) {
            emit_call(ToolCallEvent::Kind::CallFailed, raw);
            ++calls;
        } else {
            const std::size_t keep = std::max<std::size_t>(opener_len, 1);
            emit_text(pre_ws);
            emit_text(std::string_view(raw).substr(0, std::min(keep, raw.size())));
            if (raw.size() > keep) replay = raw.substr(keep);
        }
        if (!consumed_c) replay += c;
        pre_ws.clear();
        raw.clear();
        committed = false;
        mode = Mode::Text;
        at_reply_start = false;
        after_call = false;
        return replay;
    }

    void commit() {
        id = opt.make_id();
        committed = true;
        emit_call(ToolCallEvent::Kind::CallStart);
    }

    // Whether the object may be taken as closed before its '}': its name and arguments
    // are complete and nothing else has begun.
    bool closable() const { return obj == Obj::AfterValue && have_name && have_args; }

    // The object closed: the call is complete if it named a tool.
    bool complete_object() {
        if (!have_name || !known(name)) return false;
        json input = json::object();
        try {
            if (have_args) {
                json v = json::parse(args);
                if (v.is_string()) v = json::parse(v.get<std::string>());
                if (!v.is_object()) return false;
                input = std::move(v);
            }
        } catch (const json::exception&) {
            return false;
        }
        if (!committed) {
            commit();
            emit_call(ToolCallEvent::Kind::ArgumentsDelta,
                      have_args && !args.empty() && args[0] == '{' ? args : input.dump());
        }
        emit_call(ToolCallEvent::Kind::CallEnd, "", std::move(input));
        ++calls;
        ++completed;
        committed = false;
        pre_ws.clear();
        raw.clear();
        mode = Mode::Between;
        between_match = 0;
        return true;
    }

    // One byte inside a call object; returns false when it cannot continue one.
    bool object_byte(char c, bool& consumed) {
        consumed = true;
        switch (obj) {
            case Obj::Open:
                if (is_space(c)) return true;
                if (c != '{') return false;
                obj = Obj::KeyOrEnd;
                return true;
            case Obj::KeyOrEnd:
            case Obj::Key:
                if (is_space(c)) return true;
                if (c != '"') return false;
                scan.reset();
                scan.feed(c);
                token.assign(1, c);
                obj = Obj::KeyStr;
                return true;
            case Obj::KeyStr: {
                const Step st = scan.feed(c);
                if (st == Step::Error) return false;
                token += c;
                if (st != Step::Done) return true;
                try {
                    key = json::parse(token).get<std::string>();
                } catch (const json::exception&) {
                    return false;
                }
                const bool allowed = key == "name" || key == "arguments" || key == "parameters" ||
                                     key == "id" || key == "type";
                if (!committed && !allowed) return false;
                if ((key == "name" && have_name) ||
                    ((key == "arguments" || key == "parameters") && have_args)) {
                    return committed;  // a repeated key: not a call (or ignored once streaming)
                }
                obj = Obj::Colon;
                return true;
            }
            case Obj::Colon:
                if (is_space(c)) return true;
                if (c != ':') return false;
                obj = Obj::ValueStart;
                return true;
            case Obj::ValueStart:
                if (is_space(c)) return true;
                scan.reset();
                token.clear();
                obj = Obj::Value;
                if ((key == "arguments" || key == "parameters") && c == '{' && have_name &&
                    opt.stream_arguments && !committed) {
                    if (!known(name)) return false;
                    commit();
                }
                [[fallthrough]];
            case Obj::Value: {
                const Step st = scan.feed(c);
                if (st == Step::Error) return false;
                if (st == Step::DoneBefore) {
                    consumed = false;
                } else {
                    token += c;
                    if (committed && (key == "arguments" || key == "parameters") && !have_args) {
                        emit_call(ToolCallEvent::Kind::ArgumentsDelta, std::string(1, c));
                    }
                }
                if (st == Step::More) return true;
                if (key == "name") {
                    if (token.empty() || token[0] != '"') return false;
                    try {
                        name = json::parse(token).get<std::string>();
                    } catch (const json::exception&) {
                        return false;  // invalid UTF-8
                    }
                    have_name = true;
                } else if ((key == "arguments" || key == "parameters") && !have_args) {
                    args = token;
                    have_args = true;
                }
                obj = Obj::AfterValue;
                if (!consumed) return object_byte(c, consumed);
                return true;
            }
            case Obj::AfterValue:
                if (is_space(c)) return true;
                if (c == ',') {
                    obj = Obj::Key;
                    return true;
                }
                if (c != '}') return false;
                return complete_object();
        }
        return false;
    }

    // --- modes ---------------------------------------------------------------------
    // Emits held text up to what may still begin an opener (or a whitespace run).
    void flush_held() {
        std::size_t keep = 0;
        for (std::size_t k = std::min(held.size(), opener.size() - 1); k > 0; --k) {
            if (opener.substr(0, k) == std::string_view(held).substr(held.size() - k)) {
                keep = k;
                break;
            }
        }
        std::size_t cut = held.size() - keep;
        while (cut > 0 && is_space(held[cut - 1])) --cut;
        // Hold at most kMaxHeldSpace bytes of whitespace (bounded work per byte).
        cut = std::max(cut, held.size() - std::min(held.size(), keep + kMaxHeldSpace));
        emit_text(std::string_view(held).substr(0, cut));
        held.erase(0, cut);
    }

    void enter_call_from_text(std::size_t opener_bytes) {
        // held = [whitespace][opener]: the whitespace borders a call and is dropped.
        const std::size_t ws = held.size() - opener_bytes;
        pre_ws = held.substr(0, ws);
        raw = held.substr(ws);
        held.clear();
        after_call = false;
        at_reply_start = false;
        if (syntax == ToolCallSyntax::Mistral && opener_bytes > 0) {
            mode = Mode::MistralOpen;
            opener_len = opener_bytes;
            return;
        }
        begin_object(opener_bytes);
    }

    // Processes `c`; returns bytes to scan again (after a failed call), else "".
    std::string step(char c) {
        switch (mode) {
            case Mode::Text: {
                if (after_call && is_space(c)) return "";
                after_call = false;
                if (syntax == ToolCallSyntax::Llama && at_reply_start && c == '{') {
                    enter_call_from_text(0);
                    raw = "{";
                    bool consumed = true;
                    object_byte(c, consumed);
                    return "";
                }
                if (!is_space(c)) at_reply_start = false;
                held += c;
                if (held.size() >= opener.size() &&
                    std::string_view(held).substr(held.size() - opener.size()) == opener) {
                    std::size_t start = held.size() - opener.size();
                    std::size_t ws = start;
                    while (ws > 0 && is_space(held[ws - 1])) --ws;
                    emit_text(std::string_view(held).substr(0, ws));
                    held.erase(0, ws);
                    enter_call_from_text(opener.size());
                    return "";
                }
                flush_held();
                return "";
            }
            case Mode::MistralOpen:
                raw += c;
                if (is_space(c)) return "";
                if (c == '[') {
                    mistral_array = true;
                    begin_object(opener_len);
                    return "";
                }
                mistral_array = false;
                begin_object(opener_len);
                raw.pop_back();
                [[fallthrough]];
            case Mode::Call: {
                if (raw.size() >= opt.max_call_bytes) return fail(c, false);
                bool consumed = true;
                raw += c;
                if (!object_byte(c, consumed)) {
                    raw.pop_back();
                    // The object's final '}' is missing, but name and arguments are whole.
                    if (closable() && complete_object()) return std::string(1, c);
                    return fail(c, false);
                }
                return "";
            }
            case Mode::Between:
                return between(c);
        }
        return "";
    }

    std::string between(char c) {
        switch (syntax) {
            case ToolCallSyntax::Hermes: {
                static constexpr std::string_view kCloser = "</tool_call>";
                // Small models often close the call object once too often.
                if (between_match == 0 && (is_space(c) || c == '}')) return "";
                if (c == kCloser[between_match]) {
                    if (++between_match == kCloser.size()) to_text_after_call();
                    return "";
                }
                std::string replay(kCloser.substr(0, between_match));
                to_text_after_call();
                return replay + c;
            }
            case ToolCallSyntax::Mistral:
                if (is_space(c)) return "";
                if (mistral_array && c == ',') {
                    raw.clear();
                    begin_object(0);
                    return "";
                }
                to_text_after_call();
                if (mistral_array && c == ']') return "";
                return std::string(1, c);
            case ToolCallSyntax::Llama:
                if (is_space(c) || c == ';') return "";
                if (c == '{') {
                    raw = "{";
                    begin_object(0);
                    bool consumed = true;
                    object_byte(c, consumed);
                    return "";
                }
                to_text_after_call();
                return std::string(1, c);
        }
        return "";
    }

    void to_text_after_call() {
        mode = Mode::Text;
        after_call = true;
        at_reply_start = false;
    }

    void run(std::string_view input) {
        std::string work(input);
        std::size_t pos = 0;
        while (pos < work.size()) {
            const std::string replay = step(work[pos++]);
            if (replay.empty()) continue;
            if (replay.size() <= pos) {  // usually: rewind over bytes already consumed
                pos -= replay.size();
                work.replace(pos, replay.size(), replay);
            } else {
                work = replay + work.substr(pos);
                pos = 0;
            }
        }
    }

    void finish() {
        // Unfinished calls fail (their text is replayed, which may end further calls).
        for (int guard = 0; guard < 1 << 20; ++guard) {
            if (mode == Mode::Call && closable() && complete_object()) continue;
            if (mode == Mode::Call || mode == Mode::MistralOpen) {
                if (mode == Mode::MistralOpen) opener_len = raw.size();
                const bool was_committed = committed;
                std::string replay = fail('\0', true);
                if (!was_committed && !replay.empty()) run(replay);
                continue;
            }
            break;
        }
        if (mode == Mode::Text) emit_text(held);
        held.clear();
        mode = Mode::Text;
    }
};

ToolCallParser::ToolCallParser(ToolCallSyntax syntax, ToolCallParserOptions options)
    : s_(std::make_unique<State>(syntax, std::move(options))) {}
ToolCallParser::~ToolCallParser() = default;
ToolCallParser::ToolCallParser(ToolCallParser&&) noexcept = default;
ToolCallParser& ToolCallParser::operator=(ToolCallParser&&) noexcept = default;

std::vector<ToolCallEvent> ToolCallParser::feed(std::string_view piece) {
    s_->run(piece);
    return std::exchange(s_->out, {});
}

std::vector<ToolCallEvent> ToolCallParser::finish() {
    s_->finish();
    return std::exchange(s_->out, {});
}

int ToolCallParser::calls_completed() const {
    return s_->completed;
}

}  // namespace pensieve::chat
