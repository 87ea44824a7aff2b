// The weather tool both SDK checks call: its JSON Schema, which the Anthropic
// check sends as input_schema and the OpenAI check as function parameters.
export const WEATHER_NAME = "get_weather";
export const WEATHER_DESCRIPTION = "Get the weather forecast for a city.";
export const WEATHER_SCHEMA = {
  type: "object",
  properties: {
    city: { type: "string", maxLength: 40 },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};
