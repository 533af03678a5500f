// A real webhookd for the console test (built binary, data in a temporary
// directory, free loopback ports) and a real HTTP receiver on loopback.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

export const TOKENS = {
  admin: "console-admin-token-0123456789",
  publisher: "console-publisher-token-0123456789",
  alice: "console-alice-token-0123456789",
  bob: "console-bob-token-0123456789",
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls check() every 20 ms until it returns a truthy value (or throws after timeoutMs). */
export async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export async function startWebhookd(binary, consoleDir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "webhookd-console-"));
  const config = [
    `tokens { token: "${TOKENS.admin}" principal: "ops" roles: ADMIN }`,
    `tokens { token: "${TOKENS.publisher}" principal: "pub" roles: PUBLISHER }`,
    `tokens { token: "${TOKENS.alice}" principal: "alice" roles: SUBSCRIBER }`,
    `tokens { token: "${TOKENS.bob}" principal: "bob" roles: SUBSCRIBER }`,
  ].join("\n");
  fs.writeFileSync(path.join(dir, "config.textproto"), config, { mode: 0o600 });
  const log = fs.openSync(path.join(dir, "webhookd.log"), "w");
  const proc = spawn(binary, [
    "--listen=127.0.0.1:0", `--data_dir=${path.join(dir, "data")}`,
    `--port_file=${path.join(dir, "port")}`, `--config=${path.join(dir, "config.textproto")}`,
    "--http_listen=127.0.0.1:0", `--http_port_file=${path.join(dir, "http_port")}`,
    `--console_dir=${consoleDir}`, "--allow_http_targets", "--allowed_cidrs=127.0.0.1/32",
    "--shutdown_grace_seconds=2",
  ], { stdio: ["ignore", log, log] });
  fs.closeSync(log);
  let exited = null;
  const done = new Promise((resolve) => proc.on("exit", (code, signal) => resolve((exited = { code, signal }))));
  const readLog = () => fs.readFileSync(path.join(dir, "webhookd.log"), "utf8");
  // The HTTP port file is written before the gRPC one.
  await waitFor("webhookd to serve", () => {
    if (exited) throw new Error(`webhookd exited: ${JSON.stringify(exited)}\n${readLog()}`);
    return fs.existsSync(path.join(dir, "port"));
  }, 60_000);
  const port = Number(fs.readFileSync(path.join(dir, "http_port"), "utf8").trim());
  return {
    base: `http://127.0.0.1:${port}`,
    log: readLog,
    async stop() {
      proc.kill("SIGTERM");
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A receiver that answers 200 and remembers every request. */
export async function startReceiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      requests.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: (p) => `http://127.0.0.1:${server.address().port}${p}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** One JSON API call (Connect unary JSON), as curl would make it. */
export async function call(base, token, method, body) {
  const res = await fetch(`${base}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
