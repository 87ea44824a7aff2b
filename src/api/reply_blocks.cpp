// Thinking, text and tool_use blocks of a reply (see reply_blocks.hpp).
#include "api/reply_blocks.hpp"

#include <algorithm>

#include "api/messages_response.hpp"

namespace pensieve::api {

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
size_t partial_marker(std::string_view text, std::string_view marker) {
    for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
        if (marker.starts_with(text.substr(text.size() - n))) return n;
    }
    return 0;
}

}  // namespace

ReplyBlocks::ReplyBlocks(Options options)
    : framing_(options.framing ? std::move(options.framing) : anthropic_framing()),
      max_calls_(options.max_calls) {
    if (options.starts_in_thinking) {
        stage_ = Stage::Thinking;
    } else if (options.thinking) {
        stage_ = Stage::Undecided;
    }
    if (options.syntax) {
        chat::ToolCallParserOptions parser_options;
        parser_options.known_tools = std::move(options.tool_names);
        parser_.emplace(*options.syntax, std::move(parser_options));
    }
}

void ReplyBlocks::close(std::string& out) {
    if (open_ == Open::None) return;
    out += framing_->block_stop(index());
    open_ = Open::None;
}

void ReplyBlocks::text(const std::string& piece, std::string& out) {
    if (piece.empty()) return;
    if (max_calls_ > 0 && calls_ >= max_calls_) return;  // the reply ended with its last call
    if (open_ != Open::Text) {
        close(out);
        content_.push_back({{"type", "text"}, {"text", ""}});
        open_ = Open::Text;
        ++started_;
        out += framing_->text_start(index());
    }
    content_.back()["text"].get_ref<std::string&>() += piece;
    out += framing_->text_delta(index(), piece);
}

std::string ReplyBlocks::handle(const std::vector<chat::ToolCallEvent>& events,
                                bool drop_unfinished) {
    using Kind = chat::ToolCallEvent::Kind;
    std::string out;
    for (const chat::ToolCallEvent& e : events) {
        if (e.kind == Kind::Text) {
            if (!drop_unfinished) text(e.text, out);
            continue;
        }
        if (e.id == dropped_call_) continue;
        switch (e.kind) {
            case Kind::CallStart:
                if (max_calls_ > 0 && calls_ >= max_calls_) {
                    dropped_call_ = e.id;
                    break;
                }
                close(out);
                content_.push_back({{"type", "tool_use"},
                                    {"id", e.id},
                                    {"name", e.name},
                                    {"input", nlohmann::ordered_json::object()}});
                open_ = Open::Tool;
                ++started_;
                out += framing_->tool_start(index(), e.id, e.name);
                break;
            case Kind::ArgumentsDelta:
                if (open_ == Open::Tool) out += framing_->tool_delta(index(), e.text);
                break;
            case Kind::CallEnd:
                if (open_ != Open::Tool) break;
                content_.back()["input"] = e.input;
                close(out);
                ++calls_;
                break;
            case Kind::CallFailed:
                if (open_ != Open::Tool) break;
                if (drop_unfinished) {
                    content_.erase(content_.size() - 1);
                    close(out);  // the stream's block ends as it stands
                    cut_call_started_ = true;
                    break;
                }
                content_.back() = {{"type", "text"}, {"text", e.text}};
                close(out);
                break;
            case Kind::Text:
                break;
        }
    }
    return out;
}

void ReplyBlocks::thinking_text(const std::string& piece, std::string& out) {
    if (piece.empty()) return;
    if (open_ != Open::Thinking) {
        close(out);
        content_.push_back({{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
        open_ = Open::Thinking;
        ++started_;
        out += framing_->thinking_start(index());
    }
    content_.back()["thinking"].get_ref<std::string&>() += piece;
    out += framing_->thinking_delta(index(), piece);
}

void ReplyBlocks::after_thinking(std::string_view piece, std::string& out) {
    if (stage_ == Stage::AfterThinking) {
        // The blank line that follows </think> belongs to neither block.
        const size_t start = piece.find_first_not_of(" \t\r\n");
        if (start == std::string_view::npos) return;
        piece.remove_prefix(start);
        stage_ = Stage::Rest;
    }
    if (!parser_) {
        text(std::string(piece), out);
        return;
    }
    out += handle(parser_->feed(piece));
}

std::string ReplyBlocks::feed(std::string_view piece) {
    std::string out;
    if (stage_ == Stage::Undecided) {
        held_ += piece;
        const size_t start = held_.find_first_not_of(" \t\r\n");
        if (start == std::string::npos) return out;
        const std::string_view rest = std::string_view(held_).substr(start);
        if (rest.size() < kThinkOpen.size() && kThinkOpen.starts_with(rest)) return out;
        if (!rest.starts_with(kThinkOpen)) {
            stage_ = Stage::Rest;
            const std::string all = std::move(held_);
            held_.clear();
            after_thinking(all, out);
            return out;
        }
        stage_ = Stage::Thinking;
        piece = {};
        held_ = std::string(rest.substr(kThinkOpen.size()));
        if (held_.starts_with('\n')) held_.erase(0, 1);  // "<think>\n" opens the reasoning
    }
    if (stage_ == Stage::Thinking) {
        held_ += piece;
        const size_t end = held_.find(kThinkClose);
        if (end == std::string::npos) {
            const size_t keep = partial_marker(held_, kThinkClose);
            thinking_text(held_.substr(0, held_.size() - keep), out);
            held_.erase(0, held_.size() - keep);
            return out;
        }
        std::string reasoning = held_.substr(0, end);
        while (!reasoning.empty() && reasoning.back() == '\n') reasoning.pop_back();
        thinking_text(reasoning, out);
        if (open_ == Open::Thinking) out += framing_->thinking_end(index());
        close(out);
        const std::string rest = held_.substr(end + kThinkClose.size());
        held_.clear();
        stage_ = Stage::AfterThinking;
        after_thinking(rest, out);
        return out;
    }
    after_thinking(piece, out);
    return out;
}

std::string ReplyBlocks::finish(bool inside_call) {
    std::string out;
    if (stage_ == Stage::Undecided) {
        stage_ = Stage::Rest;
        const std::string all = std::move(held_);
        held_.clear();
        after_thinking(all, out);
    } else if (stage_ == Stage::Thinking) {
        thinking_text(held_, out);  // the reply ended inside its reasoning
        held_.clear();
        if (open_ == Open::Thinking) out += framing_->thinking_end(index());
    }
    if (parser_) out += handle(parser_->finish(), inside_call);
    close(out);
    // A reply of nothing still has its (empty) text block; so has the content
    // of one whose only block was a call cut off (the stream showed it).
    if (started_ == 0) out += framing_->text_start(0) + framing_->block_stop(0);
    if (content_.empty()) content_.push_back({{"type", "text"}, {"text", ""}});
    return out;
}

}  // namespace pensieve::api
