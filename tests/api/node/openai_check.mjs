// OpenAI's dialect through the official `openai` npm package: a whole chat
// completion and a stream of it (same greedy text, usage in the last
// chunk), a forced tool call streamed through the SDK's stream helper (its
// arguments arrive in pieces and are validated with Ajv), a tool-result
// round trip, response_format json_schema validated with Ajv, models.list,
// and errors raised as the SDK's classes (400 BadRequestError, 404
// NotFoundError, 401 AuthenticationError from a server run with --api-key).
// Usage: node openai_check.mjs BASE_URL KEYED_BASE_URL   (both without /v1;
// exit 0 and prints OK on success)
import OpenAI from "openai";
import Ajv2020 from "ajv/dist/2020.js";

import { WEATHER_DESCRIPTION, WEATHER_NAME, WEATHER_SCHEMA } from "./weather_tool.mjs";

const [baseURL, keyedURL] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey: "local", maxRetries: 0, timeout: 300_000 });
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
const ajv = new Ajv2020({ strict: false });
const check = (schema, value, what) => {
  const validate = ajv.compile(schema);
  if (!validate(value)) fail(`${what} breaks its schema: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)}`);
};

const USER = [{ role: "user", content: "Name three colours." }];
const GREEDY = { model: "m", temperature: 0, max_tokens: 12 };

// --- create, whole and streamed ---
const whole = await client.chat.completions.create({ ...GREEDY, messages: USER });
if (whole.object !== "chat.completion" || whole.choices.length !== 1) fail("bad completion: " + JSON.stringify(whole));
const text = whole.choices[0].message.content;
if (!text || whole.choices[0].message.role !== "assistant") fail("no assistant text");
if (!["stop", "length"].includes(whole.choices[0].finish_reason)) fail("bad finish_reason");
if (!(whole.usage.prompt_tokens > 0 && whole.usage.completion_tokens > 0)) fail("bad usage");

let streamed = "";
let chunks = 0;
let usage = null;
const stream = await client.chat.completions.create({
  ...GREEDY, messages: USER, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.object !== "chat.completion.chunk") fail("bad chunk: " + JSON.stringify(chunk));
  chunks += 1;
  if (chunk.choices.length > 0) streamed += chunk.choices[0].delta.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
if (streamed !== text) fail(`streamed ${JSON.stringify(streamed)} differs from the whole ${JSON.stringify(text)}`);
if (chunks < 3) fail("the stream came in one piece");
if (!usage || usage.completion_tokens !== whole.usage.completion_tokens) fail("no usage chunk, or a different count");

// --- a forced tool call, its arguments streamed ---
const WEATHER_PARAMETERS = WEATHER_SCHEMA;
const WEATHER = {
  type: "function",
  function: { name: WEATHER_NAME, description: WEATHER_DESCRIPTION, parameters: WEATHER_PARAMETERS },
};
const ASK = [{ role: "user", content: "What will the weather be like in Paris this week?" }];
const forced = { model: "m", temperature: 0, max_tokens: 200, messages: ASK, tools: [WEATHER], parallel_tool_calls: false,
  tool_choice: { type: "function", function: { name: "get_weather" } } };

const pieces = [];
const helper = client.chat.completions.stream({ ...forced, stream_options: { include_usage: true } });
helper.on("tool_calls.function.arguments.delta", (e) => pieces.push(e.arguments_delta));
const final = await helper.finalChatCompletion();
const call = final.choices[0].message.tool_calls?.[0];
if (!call || call.type !== "function" || call.function.name !== "get_weather" || !call.id) {
  fail("no call in the final completion: " + JSON.stringify(final));
}
if (final.choices[0].finish_reason !== "tool_calls") fail("finish_reason " + final.choices[0].finish_reason);
if (pieces.length < 2) fail("the arguments were not streamed in pieces: " + JSON.stringify(pieces));
if (pieces.join("") !== call.function.arguments) fail("the pieces do not make the final arguments");
const args = JSON.parse(call.function.arguments);
check(WEATHER_PARAMETERS, args, "the streamed call's arguments");

// --- the tool's result sent back ---
const history = [...ASK, final.choices[0].message,
  { role: "tool", tool_call_id: call.id, content: `Sunny in ${args.city}, around 24 degrees.` }];
const second = await client.chat.completions.create({
  model: "m", temperature: 0, max_tokens: 30, messages: history, tools: [WEATHER], tool_choice: "none",
});
if (second.choices[0].message.tool_calls?.length) fail("tool_choice none still called a tool");
if (!second.choices[0].message.content) fail("no answer after the tool result");
if (!(second.usage.prompt_tokens > final.usage.prompt_tokens)) fail("the tool result did not reach the prompt");

// --- response_format json_schema ---
const PERSON = {
  type: "object",
  properties: { name: { type: "string", maxLength: 30 }, age: { type: "integer", minimum: 0, maximum: 120 } },
  required: ["name", "age"],
  additionalProperties: false,
};
const person = await client.chat.completions.create({
  model: "m", temperature: 0, max_tokens: 80, messages: [{ role: "user", content: "Invent a person." }],
  response_format: { type: "json_schema", json_schema: { name: "person", schema: PERSON, strict: true } },
});
check(PERSON, JSON.parse(person.choices[0].message.content), "the json_schema reply");

// --- models.list ---
const ids = [];
for await (const model of client.models.list()) ids.push(model.id);
if (ids.length !== 1) fail("models: " + JSON.stringify(ids));
if ((await client.models.retrieve(ids[0])).id !== ids[0]) fail("models.retrieve");

// --- errors as the SDK's classes ---
const raises = async (cls, status, run) => {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof cls) || e.status !== status) fail(`expected ${cls.name} ${status}, got ${e.constructor.name} ${e.status}: ${e.message}`);
    return e;
  }
  fail(`expected ${cls.name}, nothing was raised`);
};
const bad = await raises(OpenAI.BadRequestError, 400,
  () => client.chat.completions.create({ ...GREEDY, messages: USER, n: 2 }));
if (bad.param !== "n" || bad.type !== "invalid_request_error") fail("the 400 names no param: " + JSON.stringify(bad.error));
await raises(OpenAI.NotFoundError, 404, () => client.models.retrieve("no-such-model"));
const keyed = new OpenAI({ baseURL: keyedURL + "/v1", apiKey: "wrong", maxRetries: 0 });
await raises(OpenAI.AuthenticationError, 401, () => keyed.chat.completions.create({ ...GREEDY, messages: USER }));

console.log("OK", JSON.stringify({ text, call: args, models: ids }));
