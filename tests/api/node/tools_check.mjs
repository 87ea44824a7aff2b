// Forced tool calls with the official @anthropic-ai/sdk, streamed (the SDK's
// stream helper: inputJson and streamEvent events, finalMessage()) and not;
// every input is validated with Ajv against its tool's input_schema.
// Usage: node tools_check.mjs BASE_URL   (exit 0 and prints OK on success)
import { isDeepStrictEqual } from "node:util";

import Anthropic from "@anthropic-ai/sdk";
import Ajv2020 from "ajv/dist/2020.js";

import { WEATHER_DESCRIPTION, WEATHER_NAME, WEATHER_SCHEMA } from "./weather_tool.mjs";

const baseURL = process.argv[2];
const client = new Anthropic({ baseURL, apiKey: "local", maxRetries: 0, timeout: 300_000 });
const fail = (why) => {
  console.error(why);
  process.exit(1);
};

const WEATHER = { name: WEATHER_NAME, description: WEATHER_DESCRIPTION, input_schema: WEATHER_SCHEMA };
const ORDER = {
  name: "place_order",
  description: "Order groceries from the shop.",
  input_schema: {
    type: "object",
    properties: {
      items: {
        type: "array",
        minItems: 1,
        maxItems: 3,
        items: {
          type: "object",
          properties: {
            product: { type: "string", enum: ["apple", "bread", "milk", "eggs"] },
            quantity: { type: "integer", minimum: 1, maximum: 12 },
          },
          required: ["product", "quantity"],
          additionalProperties: false,
        },
      },
      priority: { type: "string", enum: ["low", "normal", "urgent"] },
    },
    required: ["items", "priority"],
    additionalProperties: false,
  },
};
const tools = [WEATHER, ORDER];
const ajv = new Ajv2020({ allErrors: true });
const validators = Object.fromEntries(tools.map((t) => [t.name, ajv.compile(t.input_schema)]));
const messages = [{ role: "user", content: "Please order two loaves of bread and some milk." }];

function checkCall(block, where) {
  if (block.type !== "tool_use") fail(`${where}: not a tool_use block: ${JSON.stringify(block)}`);
  if (!/^toolu_/.test(block.id)) fail(`${where}: bad id ${block.id}`);
  const validate = validators[block.name];
  if (!validate) fail(`${where}: unknown tool ${block.name}`);
  if (!validate(block.input)) {
    fail(`${where}: input ${JSON.stringify(block.input)} fails its schema: ` +
      JSON.stringify(validate.errors));
  }
}

// Not streamed: one forced call to place_order.
const whole = await client.messages.create({
  model: "claude-sonnet-4-6", max_tokens: 300, messages, tools,
  tool_choice: { type: "tool", name: "place_order", disable_parallel_tool_use: true },
});
if (whole.content.length !== 1) fail("whole: expected one block: " + JSON.stringify(whole.content));
checkCall(whole.content[0], "whole");
if (whole.content[0].name !== "place_order") fail("whole: the forced tool was not called");
if (whole.stop_reason !== "tool_use") fail("whole: stop_reason " + whole.stop_reason);

// Streamed: the input_json_delta pieces of each block, from the raw events
// and from inputJson, against finalMessage().
async function streamed(toolChoice, where) {
  const pieces = {};  // block index → partial_json pieces
  const fromInputJson = [];
  let snapshotMissing = false;
  let lastSnapshot = null;
  const blocks = [];
  const stream = client.messages.stream({
    model: "claude-haiku-4-5", max_tokens: 400, messages, tools, tool_choice: toolChoice,
  });
  stream.on("streamEvent", (event) => {
    if (event.type === "content_block_start" && event.content_block.type === "tool_use") {
      if (!isDeepStrictEqual(event.content_block.input, {})) fail(`${where}: start input not {}`);
      pieces[event.index] = [];
    } else if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") {
      if (!(event.index in pieces)) fail(`${where}: input_json_delta outside a tool_use block`);
      pieces[event.index].push(event.delta.partial_json);
    }
  });
  stream.on("inputJson", (partial, snapshot) => {
    fromInputJson.push(partial);
    if (snapshot === undefined || snapshot === null) snapshotMissing = true;
    lastSnapshot = snapshot;
  });
  stream.on("contentBlock", (block) => blocks.push(block));
  const final = await stream.finalMessage();
  if (!final.content.length || final.content[0].type !== "tool_use") {
    fail(`${where}: the reply does not start with a call: ${JSON.stringify(final.content)}`);
  }
  if (blocks.length !== final.content.length) fail(`${where}: contentBlock events != blocks`);
  if (fromInputJson.join("") !== Object.values(pieces).flat().join("")) {
    fail(`${where}: inputJson pieces differ from the input_json_delta events`);
  }
  if (snapshotMissing) fail(`${where}: inputJson gave no snapshot`);
  const last = Math.max(...Object.keys(pieces).map(Number));
  for (const [index, parts] of Object.entries(pieces)) {
    const block = final.content[Number(index)];
    if (final.stop_reason === "max_tokens" && Number(index) === last) continue;  // cut off
    if (!isDeepStrictEqual(JSON.parse(parts.join("")), block.input)) {
      fail(`${where}: deltas ${JSON.stringify(parts)} do not make ${JSON.stringify(block.input)}`);
    }
    checkCall(block, where);
  }
  if (final.stop_reason === "max_tokens") return final;
  if (final.stop_reason !== "tool_use") fail(`${where}: stop_reason ${final.stop_reason}`);
  if (!isDeepStrictEqual(lastSnapshot, final.content.at(-1).input)) {
    fail(`${where}: the last inputJson snapshot is not the final input`);
  }
  return final;
}

const forced = await streamed({ type: "tool", name: "get_weather" }, "streamed tool");
if (forced.content[0].name !== "get_weather") fail("streamed tool: the forced tool was not called");
const one = await streamed({ type: "any", disable_parallel_tool_use: true }, "streamed any");
if (one.content.length !== 1 || one.stop_reason !== "tool_use") {
  fail("streamed any: expected exactly one call: " + JSON.stringify(one.content));
}

// A tool_choice naming no tool is a 400 the SDK raises as BadRequestError.
try {
  await client.messages.create({
    model: "m", max_tokens: 8, messages, tools, tool_choice: { type: "tool", name: "get_time" },
  });
  fail("an unknown tool in tool_choice was accepted");
} catch (e) {
  if (!(e instanceof Anthropic.BadRequestError)) throw e;
  const error = e.error?.error;
  if (error?.type !== "invalid_request_error") fail("bad error: " + JSON.stringify(e.error));
  if (!error.message.startsWith("tool_choice.name: ")) fail("bad message: " + error.message);
}

console.log("OK", JSON.stringify({
  whole: whole.content[0].input,
  forced: forced.content.map((b) => b.input),
  one: one.content[0].input,
}));
