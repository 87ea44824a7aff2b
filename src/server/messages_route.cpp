// The Messages route: request → prompt tokens → job → reply, either one JSON
// Message or an SSE stream whose events leave as soon as each piece of text
// is decoded. During a shutdown, generations cancelled by it end in 503 (or,
// mid-stream, an `error` event of type api_error).
#include "server/messages_route.hpp"

#include <random>

#include "api/messages_request.hpp"
#include "api/messages_response.hpp"
#include "chat/error.hpp"
#include "server/access_log.hpp"
#include "server/generation_tracker.hpp"
#include "server/log.hpp"
#include "server/peer_socket.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPoll{10};  // how often a waiting handler checks its client

std::vector<int32_t> prompt_tokens(const api::MessagesRequest& r, const Serving& s) {
    try {
        return s.prompt.build(r.messages, nullptr, r.continuation);
    } catch (const chat::TemplateError& e) {
        throw api::invalid_request(std::string("the chat template rejected these messages: ") +
                                   e.what());
    }
}

std::string stop_reason(const engine::GenerateResult& r) {
    switch (r.reason) {
        case engine::StopReason::EndOfGeneration:
            return "end_turn";
        case engine::StopReason::StopSequence:
            return "stop_sequence";
        default:
            return "max_tokens";  // max_tokens, or the context filled up
    }
}

engine::SamplingParams sampling(const api::MessagesRequest& r) {
    engine::SamplingParams p;
    p.temperature = r.temperature.value_or(1.0f);  // the Anthropic API's default
    if (r.top_p) p.top_p = *r.top_p;
    if (r.top_k) p.top_k = *r.top_k;
    p.seed = std::random_device{}();
    return p;
}

void log_request_notes(const api::MessagesRequest& r, const std::string& request_id) {
    if (r.tools_ignored) {
        log_event(LogLevel::Warn,
                  "tools were sent; tool use is not supported yet, answering without them",
                  {{"request_id", request_id}});
    }
    if (!r.dropped_blocks.empty()) {
        log_event(LogLevel::Warn, "left out content blocks",
                  {{"request_id", request_id}, {"types", r.dropped_blocks}});
    }
}

constexpr const char* kShuttingDown = "the server is shutting down";

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

// Streams one job as SSE: each call blocks until the next event is ready
// (or a ping is due) and hands over its text.
class StreamWriter : public BodyStream {
  public:
    StreamWriter(std::shared_ptr<Job> job, const RouteContext& ctx, std::string model,
                 int64_t input_tokens, PeerSocket peer, GenerationTracker tracker)
        : tracker_(tracker),
          job_(std::move(job)),
          ping_interval_(ctx.config.ping_interval),
          stopping_(ctx.stopping),
          model_(std::move(model)),
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
            out = api::message_start_event(id_, model_, usage_) + api::ping_event();
            return Next::More;
        }
        for (;;) {
            if (peer_.closed()) return cancel();
            std::optional<JobEvent> e = job_->pop(kPoll);
            if (!e) {
                if (Clock::now() - last_write_ >= ping_interval_) {
                    last_write_ = Clock::now();
                    out = api::ping_event();
                    return Next::More;
                }
                continue;
            }
            if (e->kind == JobEvent::Kind::Started) continue;
            last_write_ = Clock::now();
            return handle(*e, out);
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
                out = open_block() + api::text_delta_event(0, e.text);
                return Next::More;
            case JobEvent::Kind::Done:
                if (e.result.reason == engine::StopReason::Cancelled) {
                    const char* type = stopping_.load() ? "api_error" : "overloaded_error";
                    tracker_.abandoned(type);
                    out = api::error_event(
                        type, stopping_.load() ? kShuttingDown : "generation was cancelled");
                    return Next::End;
                }
                tracker_.done(e.result, stop_reason(e.result));
                usage_.output_tokens = static_cast<int64_t>(e.result.output.size());
                out = open_block() + api::block_stop_event(0) +
                      api::message_delta_event(stop_reason(e.result), e.result.stop_sequence,
                                               usage_) +
                      api::message_stop_event();
                return Next::End;
            case JobEvent::Kind::Error:
                tracker_.abandoned(e.error_type);
                out = api::error_event(e.error_type, e.error_message);
                return Next::End;
        }
        return Next::Abort;
    }

    std::string open_block() {
        if (block_open_) return {};
        block_open_ = true;
        return api::text_block_start_event(0);
    }

    Next cancel() {
        tracker_.abandoned("client_disconnected");
        job_->cancelled = true;
        return Next::Abort;
    }

    GenerationTracker tracker_;
    std::shared_ptr<Job> job_;
    std::chrono::milliseconds ping_interval_;
    const std::atomic<bool>& stopping_;
    std::string model_;
    std::string id_ = api::new_id("msg_");
    api::Usage usage_;
    PeerSocket peer_;
    bool started_ = false;
    bool block_open_ = false;
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
                 const api::MessagesRequest& r, int64_t input_tokens, Clock::time_point received,
                 GenerationTracker& tracker, const RouteContext& ctx) {
    std::string text;
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
                text += e->text;
                break;
            case JobEvent::Kind::Error:
                send_job_error(res, *e, ctx);
                return;
            case JobEvent::Kind::Done:
                if (e->result.reason == engine::StopReason::Cancelled) {
                    send_cancelled(res, ctx);
                    return;
                }
                tracker.done(e->result, stop_reason(e->result));
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
                send_json(res, 200,
                          api::message_json(api::new_id("msg_"), r.model, text,
                                            stop_reason(e->result), e->result.stop_sequence,
                                            {input_tokens - e->result.cached_tokens,
                                             static_cast<int64_t>(e->result.output.size()),
                                             e->result.cached_tokens}));
                return;
        }
    }
}

}  // namespace

void handle_messages(const Request& req, Response& res, const RouteContext& ctx) {
    const Serving& serving = ctx.serving;
    const auto received = Clock::now();
    const std::string request_id = res.header("request-id");
    const api::MessagesRequest r = api::parse_messages_request(req.body, api::Endpoint::Messages);
    log_request_notes(r, request_id);
    RequestRecord& record = current_request();
    record.model = r.model;
    record.stream = r.stream;
    const std::vector<int32_t> prompt = prompt_tokens(r, serving);
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    record.prompt_tokens = n_prompt;
    if (n_prompt >= serving.n_ctx) {
        throw api::invalid_request("prompt is too long: " + std::to_string(n_prompt) +
                                   " tokens > " + std::to_string(serving.n_ctx - 1) + " maximum");
    }
    auto job = std::make_shared<Job>();
    job->request.prompt = prompt;
    job->request.sampling = sampling(r);
    job->request.max_tokens = std::min(r.max_tokens, serving.n_ctx - n_prompt);
    job->request.stop = r.stop_sequences;
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
    GenerationTracker tracker(ctx.metrics, received);
    if (!r.stream) {
        reply_whole(job, res, peer, r, n_prompt, received, tracker, ctx);
        return;
    }
    if (!wait_for_admission(job, res, peer, tracker, ctx)) return;
    res.status = 200;
    res.content_type = "text/event-stream";
    res.set_header("Cache-Control", "no-cache");
    res.stream = std::make_shared<StreamWriter>(job, ctx, r.model, n_prompt, peer, tracker);
}

void handle_count_tokens(const Request& req, Response& res, const Serving& serving) {
    const api::MessagesRequest r =
        api::parse_messages_request(req.body, api::Endpoint::CountTokens);
    send_json(res, 200, {{"input_tokens", prompt_tokens(r, serving).size()}});
}

}  // namespace pensieve::server
