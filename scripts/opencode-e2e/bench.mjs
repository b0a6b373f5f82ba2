// The OpenCode plugin's own cost per prompt: its `chat.message` hook, as installed (state dir
// and limit table filled in), timed over many prompts. Prints the medians: no routes file, a
// route in force (the file unchanged: one stat), and the file rewritten before every prompt
// (stat, read, parse). Plain Node; OpenCode runs the same code in its Bun runtime.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "switcher-bench-"));
const stateDir = path.join(work, "state");
const project = path.join(work, "project");
fs.mkdirSync(stateDir);
fs.mkdirSync(project);
const text = fs
  .readFileSync(path.join(root, "assets/opencode-plugin.js"), "utf8")
  .replace("const STATE_DIR = null; // filled by `switcher setup opencode`", `const STATE_DIR = ${JSON.stringify(stateDir)};`)
  .replace("const LIMITS = null; // filled by `switcher setup opencode`", `const LIMITS = ${fs.readFileSync(path.join(root, "assets/limits.json"), "utf8")};`);
fs.writeFileSync(path.join(work, "switcher.mjs"), text);
const { SwitcherPlugin } = await import(pathToFileURL(path.join(work, "switcher.mjs")).href);
const hooks = await SwitcherPlugin({ directory: project, client: { app: { log: async () => {} } } });

const routesFile = path.join(stateDir, "routes.json");
const doc = (to) => ({
  version: 1,
  routes: [
    { config: path.join(project, "opencode.json"), scope: project, agent: null, slot: "model", from: "provA/model-a", to, since: "2026-01-01T00:00:00Z" },
    { config: path.join(project, "opencode.json"), scope: project, agent: "review", slot: "agent.review.model", from: "provC/model-c", to: "provD/model-d", since: "2026-01-01T00:00:00Z" },
  ],
});
const write = (to) => {
  fs.writeFileSync(routesFile + ".tmp", JSON.stringify(doc(to), null, 2));
  fs.renameSync(routesFile + ".tmp", routesFile);
};

async function time(n, before) {
  const out = [];
  for (let i = 0; i < n; i++) {
    if (before) before(i);
    const output = { message: { agent: "build", model: { providerID: "provA", modelID: "model-a" } } };
    const t = process.hrtime.bigint();
    await hooks["chat.message"]({ sessionID: "s", agent: "build" }, output);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)];
}

const N = 5000;
await time(500);
const none = await time(N);
write("provB/model-b");
const routed = await time(N);
const rewritten = await time(N, (i) => write(i % 2 ? "provB/model-b" : "provE/model-e"));
console.log(`chat.message median over ${N} prompts: no routes file ${none.toFixed(1)} µs; route in force ${routed.toFixed(1)} µs; routes file rewritten before each prompt ${rewritten.toFixed(1)} µs`);
fs.rmSync(work, { recursive: true, force: true });
