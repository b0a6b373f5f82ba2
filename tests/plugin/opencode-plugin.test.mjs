// Tests of switcher's OpenCode plugin (assets/opencode-plugin.js), with Node's built-in runner:
// `node --test tests/plugin/*.test.mjs`. The plugin is filled in as `switcher setup opencode` fills it
// (state dir and limit table) and imported from a temp dir; OpenCode is played by calling its
// hooks. Every real message of tests/limits/vectors.json is read here as the Rust tests read it.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const source = fs.readFileSync(path.join(root, "assets/opencode-plugin.js"), "utf8");
const table = JSON.parse(fs.readFileSync(path.join(root, "assets/limits.json"), "utf8"));
const vectors = JSON.parse(fs.readFileSync(path.join(root, "tests/limits/vectors.json"), "utf8"));

/** A fresh temp dir, removed when the tests are done. */
const temps = [];
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const STATE_SLOT = "const STATE_DIR = null; // filled by `switcher setup opencode`";
const LIMITS_SLOT = "const LIMITS = null; // filled by `switcher setup opencode`";

/** The plugin as installed for `stateDir`, imported from a fresh temp file. */
async function installed(stateDir) {
  assert.equal(source.split(STATE_SLOT).length, 2);
  assert.equal(source.split(LIMITS_SLOT).length, 2);
  const text = source
    .replace(STATE_SLOT, `const STATE_DIR = ${JSON.stringify(stateDir)};`)
    .replace(LIMITS_SLOT, `const LIMITS = ${JSON.stringify(table)};`);
  const file = path.join(tempDir("switcher-plugin-"), "switcher.mjs");
  fs.writeFileSync(file, text);
  return (await import(pathToFileURL(file).href)).SwitcherPlugin;
}

const plugin = await installed(null);
const { classify, compileTable, relative, clock, createHooks, routeFor, fileSafe } = plugin.internals;
const rows = compileTable(table);

test("every row compiles, ids are unique", () => {
  assert.equal(rows.length, table.rows.length);
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
});

test("every vector reads as the Rust side reads it", () => {
  assert.ok(vectors.vectors.length >= 79);
  for (const v of vectors.vectors) {
    const got = classify(rows, v.text, Date.parse(v.now), vectors.local_zone);
    if (v.expect === null) {
      assert.equal(got, null, v.origin);
      continue;
    }
    assert.ok(got, `${v.origin}: no row matched`);
    const reset = got.resetsAt === null ? null : new Date(got.resetsAt).toISOString();
    assert.deepEqual(
      { id: got.row, provider: got.provider, kind: got.kind, resets_at: reset },
      v.expect,
      v.origin,
    );
  }
});

test("relative times and clocks", () => {
  assert.equal(relative("6 days"), 6 * 86400000);
  assert.equal(relative("10h 7m"), (10 * 60 + 7) * 60000);
  assert.equal(relative("8h44m7s"), ((8 * 60 + 44) * 60 + 7) * 1000);
  assert.equal(relative("5mo"), null);
  assert.equal(relative("soon"), null);
  assert.deepEqual(clock("11:50pm"), [23, 50]);
  assert.deepEqual(clock("12am"), [0, 0]);
  assert.equal(clock("25:99pm"), null);
  assert.equal(fileSafe("../x y"), "_._x_y");
});

/** A sandbox: a state dir, hooks for a session in `project`, and the log lines they wrote. */
function sandbox(project = "/work/p", startedAt = undefined) {
  const stateDir = tempDir("switcher-state-");
  const logs = [];
  let now = Date.parse("2026-09-11T14:45:20Z");
  const hooks = createHooks({
    stateDir,
    table,
    dirs: [project],
    log: (level, message) => logs.push(`${level}: ${message}`),
    now: () => now,
    localZone: "UTC",
    startedAt,
  });
  const prompt = async (model, agent = "build", sessionID = "s1") => {
    const [providerID, ...rest] = model.split("/");
    const output = { message: { agent, model: { providerID, modelID: rest.join("/") } }, parts: [] };
    await hooks["chat.message"]({ sessionID, agent, model: output.message.model }, output);
    return `${output.message.model.providerID}/${output.message.model.modelID}`;
  };
  const routes = (doc) => {
    const file = path.join(stateDir, "routes.json");
    const tmp = file + ".tmp";
    fs.writeFileSync(tmp, typeof doc === "string" ? doc : JSON.stringify(doc));
    fs.renameSync(tmp, file);
  };
  return { stateDir, hooks, logs, prompt, routes, tick: (ms) => (now += ms), now: () => now };
}

const route = (r) => ({ config: "/work/p/opencode.json", scope: "/work/p", agent: null, slot: "model", since: "2026-09-11T14:00:00Z", ...r });

test("a prompt for a model switched away from goes to its fallback, and back after the restore", async () => {
  const s = sandbox("/work/p/sub");
  assert.equal(await s.prompt("zai/glm-4.6"), "zai/glm-4.6", "no routes file yet");
  s.routes({ version: 1, routes: [route({ from: "zai/glm-4.6", to: "deepseek/deepseek-chat" })] });
  assert.equal(await s.prompt("zai/glm-4.6"), "deepseek/deepseek-chat");
  assert.equal(await s.prompt("openai/gpt-5"), "openai/gpt-5", "other models are left alone");
  s.routes({ version: 1, routes: [] });
  assert.equal(await s.prompt("zai/glm-4.6"), "zai/glm-4.6");
});

test("every model the slot held goes to its current value; after a restore older processes go back", async () => {
  const s = sandbox("/work/p", Date.parse("2026-09-11T12:00:00Z"));
  const held = [
    route({ from: "zai/glm-4.6", to: "openai/gpt-4o" }),
    route({ from: "deepseek/deepseek-chat", to: "openai/gpt-4o", earlier: true }),
  ];
  s.routes({ version: 1, routes: held });
  assert.equal(await s.prompt("deepseek/deepseek-chat"), "openai/gpt-4o", "started while the config said deepseek");
  assert.equal(await s.prompt("zai/glm-4.6"), "openai/gpt-4o");
  const back = (from, since) => route({ from, to: "zai/glm-4.6", since });
  const restored = [back("deepseek/deepseek-chat", "2026-09-11T15:00:00Z"), back("openai/gpt-4o", "2026-09-11T15:00:00Z")];
  s.routes({ version: 1, routes: [], restored });
  assert.equal(await s.prompt("openai/gpt-4o"), "zai/glm-4.6");
  assert.equal(await s.prompt("deepseek/deepseek-chat"), "zai/glm-4.6");
  assert.equal(await s.prompt("zai/glm-4.6"), "zai/glm-4.6");
  // Switched again: the way back to the original goes on to its new fallback.
  s.routes({ version: 1, routes: [route({ from: "zai/glm-4.6", to: "kimi/k2" })], restored });
  assert.equal(await s.prompt("openai/gpt-4o"), "kimi/k2");
  // A process started after the restore read the original: a fallback it names is the user's.
  const later = sandbox("/work/p", Date.parse("2026-09-11T16:00:00Z"));
  later.routes({ version: 1, routes: [], restored });
  assert.equal(await later.prompt("openai/gpt-4o"), "openai/gpt-4o");
});

test("routes hold for their project and agent; an agent's own route wins", async () => {
  const s = sandbox("/work/p");
  s.routes({
    version: 1,
    routes: [
      route({ scope: "/work/other", from: "a/1", to: "x/1" }),
      route({ scope: null, from: "b/1", to: "y/1" }),
      route({ from: "b/1", to: "z/1" }),
      route({ agent: "review", slot: "agent.review.model", from: "b/1", to: "r/1" }),
      route({ scope: "/work/pp", from: "c/1", to: "bad/1" }),
    ],
  });
  assert.equal(await s.prompt("a/1"), "a/1", "another project's route");
  assert.equal(await s.prompt("c/1"), "c/1", "/work/pp is not /work/p");
  assert.equal(await s.prompt("b/1"), "z/1", "the project's route beats the user config's");
  assert.equal(await s.prompt("b/1", "review"), "r/1");
  assert.equal(routeFor([route({ scope: null, from: "m/1", to: "n/1/x" })], "build", "m/1"), "n/1/x");
  assert.equal(await s.prompt("m/1"), "m/1");
});

test("the routes file is read again only when its stat changes", async () => {
  const s = sandbox();
  const file = path.join(s.stateDir, "routes.json");
  s.routes({ version: 1, routes: [route({ from: "a/1", to: "b/11" })] });
  const T = 1_800_000_000;
  fs.utimesSync(file, T, T);
  assert.equal(await s.prompt("a/1"), "b/11");
  const st = fs.statSync(file);
  // Same size, same inode, same mtime: a reader going by the stat cannot tell, so it keeps b/11.
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, JSON.stringify({ version: 1, routes: [route({ from: "a/1", to: "c/11" })] }), 0);
  fs.closeSync(fd);
  fs.utimesSync(file, T, T);
  assert.equal(fs.statSync(file).size, st.size);
  assert.equal(await s.prompt("a/1"), "b/11");
  s.routes({ version: 1, routes: [route({ from: "a/1", to: "c/11" })] });
  assert.equal(await s.prompt("a/1"), "c/11");
});

test("a missing, corrupt or newer routes file leaves prompts alone and is logged once", async () => {
  const s = sandbox();
  await s.prompt("a/1");
  await s.prompt("a/1");
  assert.equal(s.logs.filter((l) => l.includes("no switch in force")).length, 1);
  s.routes("{ not json");
  assert.equal(await s.prompt("a/1"), "a/1");
  assert.equal(await s.prompt("a/1"), "a/1");
  assert.equal(s.logs.filter((l) => l.includes("unreadable")).length, 1);
  s.routes({ version: 2, routes: [route({ from: "a/1", to: "b/1" })] });
  assert.equal(await s.prompt("a/1"), "a/1");
  assert.equal(await s.prompt("a/1"), "a/1");
  assert.equal(s.logs.filter((l) => l.includes("version 2")).length, 1);
  s.routes({ version: 1, routes: "no" });
  assert.equal(await s.prompt("a/1"), "a/1");
  assert.equal(s.logs.filter((l) => l.includes("not a routes document")).length, 1);
  // Broken output from OpenCode: the hook neither throws nor changes anything.
  await s.hooks["chat.message"]({}, {});
  await s.hooks["chat.message"](undefined, { message: { model: null } });
});

const ZAI =
  '{"type":"error","error":{"type":"rate_limit_error","code":"1308","message":"[1308][Usage limit reached for 5 hour. Your limit will reset at 2026-09-12 00:35:41][20260912001903b4955568412247d7]"}}';
const retry = (message, attempt = 1, next = undefined, sessionID = "s1") => ({
  event: { type: "session.status", properties: { sessionID, status: { type: "retry", attempt, message, next } } },
});

test("the first retry with a usage limit writes a signal for the session's provider", async () => {
  const s = sandbox();
  await s.hooks["chat.params"]({ sessionID: "s1", model: { providerID: "zai-coding-plan", id: "glm-4.6" } }, {});
  await s.hooks.event(retry(ZAI));
  const file = path.join(s.stateDir, "signals", "opencode-zai-coding-plan.json");
  const doc = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.deepEqual(doc["zai-coding-plan"].windows, {
    limit: { utilization: 100, resets_at: "2026-09-11T16:35:41.000Z" },
  });
  assert.equal(doc["zai-coding-plan"].source.rule, "zai-usage-limit");
  assert.deepEqual(fs.readdirSync(path.join(s.stateDir, "signals")), ["opencode-zai-coding-plan.json"], "no temp file left");
  fs.unlinkSync(file);
  await s.hooks.event(retry(ZAI, 2));
  await s.hooks.event({ event: { type: "session.error", properties: { sessionID: "s1", error: { name: "APIError", data: { message: ZAI } } } } });
  assert.ok(!fs.existsSync(file), "later retries and the final failure do not repeat it");
  // Once the signalled reset has passed, a new limit in the same session is news again.
  s.tick(2 * 3600 * 1000);
  const later = ZAI.replace("2026-09-12 00:35:41", "2026-09-12 10:00:00");
  await s.hooks.event(retry(later));
  assert.equal(JSON.parse(fs.readFileSync(file, "utf8"))["zai-coding-plan"].windows.limit.resets_at, "2026-09-12T02:00:00.000Z");
});

test("throttles write nothing; a limit with no reset lasts an hour, or until OpenCode's retry", async () => {
  const s = sandbox();
  await s.hooks.event(retry('{"error":{"code":"1302","message":"High concurrency usage of this API"}}'));
  await s.hooks.event(retry("Rate limit exceeded"));
  assert.ok(!fs.existsSync(path.join(s.stateDir, "signals")));
  await s.hooks.event(retry("You exceeded your current quota, please check your plan", 1, s.now() + 5000, "s2"));
  const doc = JSON.parse(fs.readFileSync(path.join(s.stateDir, "signals", "opencode-openai.json"), "utf8"));
  assert.equal(doc.openai.windows.limit.resets_at, new Date(s.now() + 3600000).toISOString());
  await s.hooks.event(retry("Insufficient Balance", 1, s.now() + 7200000, "s3"));
  const ds = JSON.parse(fs.readFileSync(path.join(s.stateDir, "signals", "opencode-deepseek.json"), "utf8"));
  assert.equal(ds.deepseek.windows.limit.resets_at, new Date(s.now() + 7200000).toISOString());
});

test("an unwritable signals dir and an unknown error shape are logged once, never thrown", async () => {
  const s = sandbox();
  fs.writeFileSync(path.join(s.stateDir, "signals"), "a file where the dir should be");
  await s.hooks.event(retry(ZAI));
  await s.hooks.event(retry(ZAI, 2, undefined, "s9"));
  assert.equal(s.logs.filter((l) => l.includes("cannot write a signal")).length, 1);
  await s.hooks.event(retry({ weird: true }));
  await s.hooks.event(retry(42));
  assert.equal(s.logs.filter((l) => l.includes("without a message text")).length, 1);
  await s.hooks.event({});
  await s.hooks.event(undefined);
  await s.hooks.event({ event: { type: "session.error", properties: { error: "x" } } });
});

test("the installed plugin logs through OpenCode's client and routes from its state dir", async () => {
  const stateDir = tempDir("switcher-state-");
  const project = tempDir("switcher-project-");
  const real = await installed(stateDir);
  const logs = [];
  const client = { app: { log: async ({ body }) => logs.push(body) } };
  const hooks = await real({ directory: project, worktree: project, client });
  fs.writeFileSync(
    path.join(stateDir, "routes.json"),
    JSON.stringify({ version: 1, routes: [route({ scope: fs.realpathSync(project), from: "a/1", to: "b/2" })] }),
  );
  const output = { message: { agent: "build", model: { providerID: "a", modelID: "1" } } };
  await hooks["chat.message"]({ sessionID: "s", agent: "build" }, output);
  assert.deepEqual(output.message.model, { providerID: "b", modelID: "2" });
  const none = await installed(null);
  await (await none({ directory: project, client }))["chat.message"]({}, { message: { model: { providerID: "a", modelID: "1" } } });
  assert.ok(logs.some((b) => b.service === "switcher" && b.message.includes("no state dir")));
});
