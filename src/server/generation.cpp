// The shared generation path (see generation.hpp): prepare the prompt and
// its constraint, submit the job, relay its events to the client as one reply
// or a stream in the request's dialect, and cancel it when the client leaves.
// During a shutdown, generations cancelled by it end in 503 (or, mid-stream,
// the dialect's error event of type api_error).
#include "server/generation.hpp"

#include <algorithm>
#include <random>

#include "chat/error.hpp"
#include "chat/tools/tool_constraint.hpp"
#include "engine/grammar/schema_compiler.hpp"
#include "server/access_log.hpp"
#include "server/generation_tracker.hpp"
#include "server/log.hpp"
#include "server/peer_socket.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPoll{10};  // how often a waiting handler checks its client

// What one request generates with: its prompt, the constraint on its tokens
// (null: free text) and how its text becomes blocks.
struct Prepared {
    std::vector<int32_t> prompt;
    std::shared_ptr<grammar::CallConstraint> call;  // the constraint on its tokens, or null
    api::ReplyBlocks::Options blocks;
    std::vector<std::string> relaxed;  // schema keywords the grammar does not enforce
};

// The masks of a schema's grammar; an invalid schema is a 400 naming `field`.
std::shared_ptr<const grammar::GrammarMasks> grammar_for(const nlohmann::ordered_json& schema,
                                                         const std::string& field,
                                                         const Serving& s) {
    try {
        return s.grammars.get(schema);
    } catch (const grammar::SchemaError& e) {
        throw api::invalid_request(field + ": " + e.what());
    }
}

// The grammar of a call to one of the tools. When the combined schema is
// rejected, each tool's own input schema, in the form the call grammar takes
// it (narrowed to objects), is compiled to name the one at fault.
std::shared_ptr<const grammar::GrammarMasks> call_grammar(const api::MessagesRequest& r,
                                                          const std::vector<std::string>& names,
                                                          const chat::ToolChoice& choice,
                                                          const Serving& s) {
    const nlohmann::ordered_json schema = chat::call_schema(s.tools.syntax, r.tools, names, choice);
    try {
        return s.grammars.get(schema);
    } catch (const grammar::SchemaError& e) {
        for (size_t i = 0; i < r.tools.size(); ++i) {
            const nlohmann::ordered_json& tool = r.tools[i];
            if (!tool.contains("input_schema")) continue;
            try {
                grammar::compile_schema(chat::input_schema(tool["input_schema"], ""));
            } catch (const grammar::SchemaError& own) {
                throw api::invalid_request("tools." + std::to_string(i) +
                                           ".input_schema: " + own.what());
            }
        }
        throw api::invalid_request(std::string("tools: ") + e.what());
    }
}

// The template's reasoning switch: thinking off unless the request enables it
// (absent or disabled: off; adaptive, what Claude Code sends: the model's own
// default). Templates without the switch think as they always do.
nlohmann::ordered_json thinking_variables(const api::Thinking& t, const chat::PromptBuilder& p) {
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
    if (!p.has_thinking_switch() || t.mode == api::Thinking::Mode::Adaptive) return extra;
    extra["enable_thinking"] = t.mode == api::Thinking::Mode::Enabled;
    return extra;
}

// Whether the conversation ends with the user's own words (not tool results).
bool ends_with_user_words(const nlohmann::ordered_json& messages) {
    if (messages.empty() || messages.back()["role"] != "user") return false;
    const nlohmann::ordered_json& content = messages.back()["content"];
    if (content.is_string()) return true;
    return std::none_of(content.begin(), content.end(),
                        [](const nlohmann::ordered_json& b) { return b["type"] == "tool_result"; });
}

// The request's tool_choice, or the server's default for it.
chat::ToolChoice tool_choice(const api::MessagesRequest& r, const GenerationDefaults& d) {
    chat::ToolChoice c;
    if (r.tool_choice) {
        c = *r.tool_choice;
    } else if (d.tool_choice == GenerationDefaults::ToolChoice::Any ||
               (d.tool_choice == GenerationDefaults::ToolChoice::First &&
                ends_with_user_words(r.messages))) {
        c.kind = chat::ToolChoice::Kind::Any;
    }
    if (d.max_tool_calls == 1 || r.one_tool_call) c.disable_parallel = true;
    return c;
}

Prepared prepare(const api::MessagesRequest& r, const Serving& s, api::Endpoint endpoint) {
    Prepared p;
    if (r.raw_prompt) {
        // No template: the prompt is client text, so it never makes control
        // tokens; BOS is added where the vocabulary asks for it.
        p.prompt =
            s.tokenizer.encode(*r.raw_prompt, tokenizer::Specials::AsText, {.add_bos = true});
        if (p.prompt.empty()) throw api::invalid_request("prompt: must not be empty");
        if (!r.output_schema.is_null()) {
            p.call = std::make_shared<grammar::CallConstraint>(
                grammar_for(r.output_schema, "response_format", s),
                grammar::CallFraming{"", "", true, 1});
        }
        return p;
    }
    chat::ToolPromptInputs in;
    bool in_thinking = false;
    try {
        in = chat::tool_prompt_inputs(r.tools, r.messages, s.tools);
        p.prompt = s.prompt.build(in.messages, in.tools, r.continuation,
                                  thinking_variables(r.thinking, s.prompt), &in_thinking);
    } catch (const chat::ToolInputError& e) {
        throw api::invalid_request(e.what());
    } catch (const chat::TemplateError& e) {
        throw api::invalid_request(std::string("the chat template rejected these messages: ") +
                                   e.what());
    }
    const chat::ToolChoice choice = tool_choice(r, s.defaults);
    const bool forced =
        choice.kind == chat::ToolChoice::Kind::Any || choice.kind == chat::ToolChoice::Kind::Tool;
    const bool callable = choice.kind == chat::ToolChoice::Kind::Tool
                              ? std::find(in.tool_names.begin(), in.tool_names.end(),
                                          choice.name) != in.tool_names.end()
                              : !in.tool_names.empty();
    if (forced && !callable && r.tool_choice) {
        throw api::invalid_request(
            "tool_choice: no tool it allows can be called here (server tools such as "
            "web_search run only on Anthropic's servers)");
    }
    // Every schema is checked, whether or not this request can call (count
    // tokens, tool_choice none): an invalid one is a 400 wherever it is sent.
    // The grammar is cached, so the check costs one lookup after the first.
    std::shared_ptr<const grammar::GrammarMasks> call;
    if (!in.tool_names.empty()) {
        chat::ToolChoice checked = choice;
        if (checked.kind == chat::ToolChoice::Kind::None || !callable) checked = {};
        call = call_grammar(r, in.tool_names, checked, s);
    }
    std::shared_ptr<const grammar::GrammarMasks> output;
    if (!r.output_schema.is_null()) output = grammar_for(r.output_schema, r.output_schema_field, s);
    if (endpoint == api::Endpoint::CountTokens) return p;
    p.blocks.thinking = s.prompt.thinks();
    p.blocks.starts_in_thinking = in_thinking;
    if (call && choice.kind != chat::ToolChoice::Kind::None && callable) {
        grammar::CallFraming framing = chat::call_framing(s.tools.syntax, choice);
        const int cap = choice.disable_parallel ? 1 : s.defaults.max_tool_calls;
        if (cap > 0 && (framing.max_calls == 0 || framing.max_calls > cap)) framing.max_calls = cap;
        p.blocks.syntax = s.tools.syntax;
        p.blocks.tool_names = in.tool_names;
        p.blocks.max_calls = cap;
        // Structured output next to callable tools: the reply is calls or the
        // document (when the syntax's opener cannot start a document).
        p.call = std::make_shared<grammar::CallConstraint>(call, framing, output);
    } else if (output) {
        // Structured output: the whole reply is the document.
        p.call = std::make_shared<grammar::CallConstraint>(output,
                                                           grammar::CallFraming{"", "", true, 1});
    }
    if (call) p.relaxed = call->grammar()->relaxed;
    if (output) {
        for (const std::string& k : output->grammar()->relaxed) p.relaxed.push_back(k);
    }
    return p;
}

// Whether the reply ended inside a call (cut off by max_tokens): the
// engine's last accept happened before it pushed Done, which the handler has
// popped, so reading the constraint here is ordered after it.
bool ended_inside_call(const std::shared_ptr<grammar::CallConstraint>& call) {
    return call && call->inside_call();
}

// A reply with a whole call is "tool_use" however it ended (the client runs
// the calls it holds; a call cut off after them is left out), unless a
// stream showed the start of the cut call: its last block is then no call,
// and "max_tokens" says why.
std::string stop_reason(const engine::GenerateResult& r, int tool_calls, bool cut_call_shown) {
    if (tool_calls > 0 && !cut_call_shown) return "tool_use";
    switch (r.reason) {
        case engine::StopReason::EndOfGeneration:
            return "end_turn";
        case engine::StopReason::StopSequence:
            return "stop_sequence";
        default:
            return "max_tokens";  // max_tokens, or the context filled up
    }
}

// The stop sequence a reply names: only the one it stopped on.
std::optional<std::string> matched_stop(const std::string& reason,
                                        const engine::GenerateResult& r) {
    return reason == "stop_sequence" ? r.stop_sequence : std::nullopt;
}

engine::SamplingParams sampling(const api::MessagesRequest& r, const GenerationDefaults& d) {
    engine::SamplingParams p;
    p.temperature = r.temperature.value_or(d.temperature);
    p.repeat_penalty = d.repeat_penalty;
    if (r.top_p) p.top_p = *r.top_p;
    if (r.top_k) p.top_k = *r.top_k;
    p.seed = r.seed ? *r.seed : d.seed ? *d.seed : std::random_device{}();
    return p;
}

void log_request_notes(const api::MessagesRequest& r, const Prepared& p,
                       const std::string& request_id) {
    if (!r.dropped_blocks.empty()) {
        log_event(LogLevel::Warn, "left out content blocks",
                  {{"request_id", request_id}, {"types", r.dropped_blocks}});
    }
    if (!p.relaxed.empty()) {
        log_event(LogLevel::Debug, "schema keywords not enforced by the grammar",
                  {{"request_id", request_id}, {"keywords", p.relaxed}});
    }
}

constexpr const char* kShuttingDown = "the server is shutting down";

api::ReplyBlocks::Options with_framing(api::ReplyBlocks::Options o, Dialect& dialect) {
    o.framing = dialect.framing();
    return o;
}

// A generation that ended cancelled without its client leaving: the
// shutdown's doing while the server stops (503, api_error), else the engine
// gave up on it (529).
void send_cancelled(Response& res, const RouteContext& ctx) {
    if (ctx.stopping.load()) {
        send_error(res, 503, "api_error", kShuttingDown);
        return;
    }
    res.set_header("retry-after", "1");
    send_error(res, 529, "overloaded_error", "generation was cancelled");
}

void send_job_error(Response& res, const JobEvent& e, const RouteContext& ctx) {
    if (e.status == 529 && ctx.stopping.load()) {
        send_error(res, 503, "api_error", kShuttingDown);
        return;
    }
    if (e.status == 529) res.set_header("retry-after", "1");
    send_error(res, e.status, e.error_type, e.error_message);
}

// Streams one job in its dialect's framing: each call blocks until the next
// event is ready (or a ping is due) and hands over its text.
class StreamWriter : public BodyStream {
  public:
    StreamWriter(ModelLease lease, std::shared_ptr<Job> job, const RouteContext& ctx,
                 std::unique_ptr<Dialect> dialect, int64_t input_tokens,
                 api::ReplyBlocks::Options blocks, std::shared_ptr<grammar::CallConstraint> call,
                 PeerSocket peer, GenerationTracker tracker)
        : lease_(std::move(lease)),
          tracker_(tracker),
          dialect_(std::move(dialect)),
          blocks_(with_framing(std::move(blocks), *dialect_)),
          call_(std::move(call)),
          job_(std::move(job)),
          ping_interval_(ctx.config.ping_interval),
          stopping_(ctx.stopping),
          usage_{input_tokens, 0, 0},
          peer_(peer) {}

    Next next(std::string& out) override {
        if (!started_) {
            started_ = true;
            // The job is admitted (its KV reserved) and its prefill starts
            // now: message_start, with the real input token count, and a
            // ping go out at once.
            last_write_ = Clock::now();
            // Prompt caching, the Anthropic way: the prompt tokens whose KV
            // was reused are cache reads, the rest are input tokens.
            usage_.cache_read_tokens = job_->cached_tokens.load();
            usage_.input_tokens -= usage_.cache_read_tokens;
            out = dialect_->stream_start(usage_);
            return Next::More;
        }
        for (;;) {
            if (peer_.closed()) return cancel();
            std::optional<JobEvent> e = job_->pop(kPoll);
            if (!e) {
                if (Clock::now() - last_write_ >= ping_interval_) {
                    last_write_ = Clock::now();
                    out = dialect_->ping();
                    return Next::More;
                }
                continue;
            }
            if (e->kind == JobEvent::Kind::Started) continue;
            const Next next = handle(*e, out);
            if (next == Next::More && out.empty()) continue;  // text held back (a call may start)
            last_write_ = Clock::now();
            return next;
        }
    }

    ~StreamWriter() override { job_->cancelled = true; }  // the client left or the stream ended

  private:
    Next handle(const JobEvent& e, std::string& out) {
        switch (e.kind) {
            case JobEvent::Kind::Started:
                return Next::More;
            case JobEvent::Kind::Text:
                tracker_.text();
                out = blocks_.feed(e.text);
                return Next::More;
            case JobEvent::Kind::Done:
                if (e.result.reason == engine::StopReason::Cancelled) {
                    const char* type = stopping_.load() ? "api_error" : "overloaded_error";
                    tracker_.abandoned(type);
                    out = dialect_->stream_error(
                        type, stopping_.load() ? kShuttingDown : "generation was cancelled");
                    return Next::End;
                }
                {
                    out = blocks_.finish(ended_inside_call(call_));
                    const std::string reason =
                        stop_reason(e.result, blocks_.tool_calls(), blocks_.cut_call_started());
                    tracker_.done(e.result, reason);
                    usage_.output_tokens = static_cast<int64_t>(e.result.output.size());
                    out +=
                        dialect_->stream_end({reason, matched_stop(reason, e.result), usage_,
                                              e.result.prefill_seconds, e.result.decode_seconds});
                }
                return Next::End;
            case JobEvent::Kind::Error:
                tracker_.abandoned(e.error_type);
                out = dialect_->stream_error(e.error_type, e.error_message);
                return Next::End;
        }
        return Next::Abort;
    }

    Next cancel() {
        tracker_.abandoned("client_disconnected");
        job_->cancelled = true;
        return Next::Abort;
    }

    ModelLease lease_;  // keeps the model loaded until the stream ends
    GenerationTracker tracker_;
    std::unique_ptr<Dialect> dialect_;
    api::ReplyBlocks blocks_;
    std::shared_ptr<grammar::CallConstraint> call_;
    std::shared_ptr<Job> job_;
    std::chrono::milliseconds ping_interval_;
    const std::atomic<bool>& stopping_;
    api::Usage usage_;
    PeerSocket peer_;
    bool started_ = false;
    Clock::time_point last_write_ = Clock::now();
};

// Waits until the job is admitted (true), or answers its failure (false):
// a stream's 200 is only committed once the request holds its KV, so a full
// or timed-out queue is still a real 529.
bool wait_for_admission(const std::shared_ptr<Job>& job, Response& res, const PeerSocket& peer,
                        GenerationTracker& tracker, const RouteContext& ctx) {
    for (;;) {
        if (peer.closed()) {
            tracker.abandoned("client_disconnected");
            job->cancelled = true;
            return false;
        }
        std::optional<JobEvent> e = job->pop(kPoll);
        if (!e) continue;
        if (e->kind == JobEvent::Kind::Started) {
            tracker.started(*job);
            return true;
        }
        if (e->kind == JobEvent::Kind::Error) {
            send_job_error(res, *e, ctx);
        } else {
            send_cancelled(res, ctx);
        }
        return false;
    }
}

void reply_whole(const std::shared_ptr<Job>& job, Response& res, const PeerSocket& peer,
                 Dialect& dialect, api::ReplyBlocks::Options block_options,
                 const std::shared_ptr<grammar::CallConstraint>& call, int64_t input_tokens,
                 Clock::time_point received, GenerationTracker& tracker, const RouteContext& ctx) {
    api::ReplyBlocks blocks(with_framing(std::move(block_options), dialect));
    for (;;) {
        if (peer.closed()) {
            tracker.abandoned("client_disconnected");
            job->cancelled = true;
            return;  // nobody to answer
        }
        std::optional<JobEvent> e = job->pop(kPoll);
        if (!e) continue;
        switch (e->kind) {
            case JobEvent::Kind::Started:
                tracker.started(*job);
                break;
            case JobEvent::Kind::Text:
                tracker.text();
                blocks.feed(e->text);
                break;
            case JobEvent::Kind::Error:
                send_job_error(res, *e, ctx);
                return;
            case JobEvent::Kind::Done:
                if (e->result.reason == engine::StopReason::Cancelled) {
                    send_cancelled(res, ctx);
                    return;
                }
                blocks.finish(ended_inside_call(call));
                const std::string reason = stop_reason(e->result, blocks.tool_calls(), false);
                tracker.done(e->result, reason);
                // The engine's own time and the handler's whole time, so the
                // server's overhead can be told apart from inference.
                res.set_header(
                    "Server-Timing",
                    "prefill;dur=" + std::to_string(e->result.prefill_seconds * 1e3) +
                        ", decode;dur=" + std::to_string(e->result.decode_seconds * 1e3) +
                        ", handler;dur=" +
                        std::to_string(
                            std::chrono::duration<double, std::milli>(Clock::now() - received)
                                .count()));
                send_json(
                    res, 200,
                    dialect.whole(blocks.content(), {reason,
                                                     matched_stop(reason, e->result),
                                                     {input_tokens - e->result.cached_tokens,
                                                      static_cast<int64_t>(e->result.output.size()),
                                                      e->result.cached_tokens},
                                                     e->result.prefill_seconds,
                                                     e->result.decode_seconds}));
                return;
        }
    }
}

}  // namespace

void generate(const Request& req, Response& res, const RouteContext& ctx, ModelLease lease,
              const api::MessagesRequest& r, std::unique_ptr<Dialect> dialect) {
    const Serving& serving = lease->serving();
    const auto received = Clock::now();
    const std::string request_id = res.header("request-id");
    RequestRecord& record = current_request();
    record.model = serving.model.id;
    if (r.model != serving.model.id) record.requested_model = r.model;
    record.stream = r.stream;
    Prepared prepared = prepare(r, serving, api::Endpoint::Messages);
    log_request_notes(r, prepared, request_id);
    const std::vector<int32_t>& prompt = prepared.prompt;
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    record.prompt_tokens = n_prompt;
    if (n_prompt >= serving.n_ctx) {
        throw api::invalid_request("prompt is too long: " + std::to_string(n_prompt) +
                                   " tokens > " + std::to_string(serving.n_ctx - 1) + " maximum");
    }
    auto job = std::make_shared<Job>();
    job->request.prompt = prompt;
    job->request.sampling = sampling(r, serving.defaults);
    job->request.max_tokens = std::min(r.max_tokens, serving.n_ctx - n_prompt);
    job->request.stop = r.stop_sequences;
    job->request.constraint = prepared.call;
    const PeerSocket peer(req.socket);
    if (!serving.worker.submit(job)) {
        if (ctx.stopping.load()) {
            send_error(res, 503, "api_error", kShuttingDown);
            return;
        }
        res.set_header("retry-after", "1");
        send_error(res, 529, "overloaded_error", "the server is busy; retry shortly");
        return;
    }
    GenerationTracker tracker(ctx.metrics, serving.model.id, received);
    if (!r.stream) {
        reply_whole(job, res, peer, *dialect, std::move(prepared.blocks), prepared.call, n_prompt,
                    received, tracker, ctx);
        return;
    }
    if (!wait_for_admission(job, res, peer, tracker, ctx)) return;
    res.status = 200;
    res.content_type = dialect->stream_content_type();
    res.set_header("Cache-Control", "no-cache");
    res.stream =
        std::make_shared<StreamWriter>(std::move(lease), job, ctx, std::move(dialect), n_prompt,
                                       std::move(prepared.blocks), prepared.call, peer, tracker);
}

int64_t count_prompt_tokens(const api::MessagesRequest& r, const Serving& serving) {
    return static_cast<int64_t>(prepare(r, serving, api::Endpoint::CountTokens).prompt.size());
}

}  // namespace pensieve::server
