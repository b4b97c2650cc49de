// The official OpenAI SDK, pointed at a keygate deployment: base URL = the deployment's `url` + "/v1".
//   KEYGATE_BASE_URL=http://127.0.0.1:8787 KEYGATE_API_KEY=ik_live_… node examples/openai-chat.mjs
// The variables mean what they mean to keygate's SDK and CLI: keygate's address, an API key, the project.
import OpenAI from "openai";

const keygate = (process.env.KEYGATE_BASE_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
const project = process.env.KEYGATE_PROJECT || "demo";
const client = new OpenAI({ baseURL: `${keygate}/endpoint/${project}/chat/v1`, apiKey: process.env.KEYGATE_API_KEY });

const reply = await client.chat.completions.create({
  model: "chat",
  messages: [{ role: "user", content: "Hello from the OpenAI SDK" }],
});
console.log("chat:", reply.choices[0].message.content);

const stream = await client.chat.completions.create({
  model: "chat",
  messages: [{ role: "user", content: "Stream, please" }],
  stream: true,
});
process.stdout.write("stream: ");
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
process.stdout.write("\n");
