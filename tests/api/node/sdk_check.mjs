// A streamed and a non-streamed call with the official @anthropic-ai/sdk.
// Usage: node sdk_check.mjs BASE_URL   (exit 0 and prints OK on success)
import Anthropic from "@anthropic-ai/sdk";

const baseURL = process.argv[2];
const client = new Anthropic({ baseURL, apiKey: "local", maxRetries: 0 });
const messages = [{ role: "user", content: "Say hello." }];
const fail = (why) => {
  console.error(why);
  process.exit(1);
};

const whole = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 12, messages });
if (whole.type !== "message" || whole.content[0].type !== "text") fail("bad message: " + JSON.stringify(whole));
if (!(whole.usage.input_tokens > 0 && whole.usage.output_tokens > 0)) fail("bad usage");
if (whole.model !== "claude-sonnet-4-6") fail("model not echoed");

let streamed = "";
const stream = client.messages.stream({ model: "claude-haiku-4-5", max_tokens: 12, messages });
stream.on("text", (t) => { streamed += t; });
const final = await stream.finalMessage();
if (final.content[0].text !== streamed) fail("streamed text differs from the final message");
if (!(final.usage.output_tokens > 0)) fail("no output tokens in the streamed usage");
if (!["end_turn", "max_tokens"].includes(final.stop_reason)) fail("bad stop_reason " + final.stop_reason);
console.log("OK", JSON.stringify({ whole: whole.content[0].text, streamed }));
