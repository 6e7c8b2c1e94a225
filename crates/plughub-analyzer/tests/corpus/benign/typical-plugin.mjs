// The shape of a real elizaOS plugin bundle: settings, fetch to a configured host, a cache write in its folder.
import { logger } from "@elizaos/core";
import fs from "node:fs";
import path from "node:path";

const getGlobal = Function("return this");
export const weatherAction = {
  name: "GET_WEATHER",
  validate: async (runtime) => Boolean(runtime.getSetting("WEATHER_API_KEY")),
  handler: async (runtime, message, state, options, callback) => {
    const base = runtime.getSetting("WEATHER_BASE_URL") ?? "https://api.example.com/v1";
    const key = process.env.WEATHER_API_KEY;
    const res = await fetch(`${base}/current?q=${encodeURIComponent(message.content.text)}&key=${key}`);
    const body = await res.json();
    fs.writeFileSync(path.join(import.meta.dirname, "cache.json"), JSON.stringify(body));
    logger.info("weather", { version: "1.2.3.4-beta" });
    await callback({ text: `It is ${body.temp} degrees` });
    return { success: true, text: "ok", values: { env: process.env.NODE_ENV }, data: getGlobal() };
  },
};
const icon = "data:image/png;base64," + "iVBORw0KGgo".repeat(60);
export const weatherPlugin = { name: "weather", description: "Weather", actions: [weatherAction], icon };
export default weatherPlugin;
