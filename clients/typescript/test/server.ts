// A real webhookd process for the tests, and a local HTTP receiver.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const adminToken = "admin-token-0123456789";
export const publisherToken = "publisher-token-0123456789";
export const subscriberToken = "alice-token-0123456789";
export const subscriberName = "alice";

/** An admin, a publisher, a subscriber ("alice"), and a short retry schedule. */
export const tokensConfig = `
tokens { token: "${adminToken}" principal: "ops" roles: ADMIN }
tokens { token: "${publisherToken}" principal: "app" roles: PUBLISHER }
tokens { token: "${subscriberToken}" principal: "${subscriberName}" roles: SUBSCRIBER }
delivery { retry_schedule_seconds: [0, 1, 1] total_timeout_ms: 5000 }
`;

/** clients/typescript (this file runs from build-test/test/). */
export const packageRoot = path.resolve(__dirname, "..", "..");

/** $WEBHOOKD_BINARY, or the CMake build's server (../../build/server/webhookd). */
export function webhookdBinary(): string {
  const bin = path.resolve(packageRoot, process.env.WEBHOOKD_BINARY || path.join("..", "..", "build", "server", "webhookd"));
  if (!fs.existsSync(bin)) {
    throw new Error(`webhookd binary not found at ${bin}; build it or set WEBHOOKD_BINARY`);
  }
  return bin;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export class ServerProcess {
  readonly address: string;
  private readonly proc: ChildProcess;
  private readonly logPath: string;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(address: string, proc: ChildProcess, logPath: string, exited: ServerProcess["exited"]) {
    this.address = address;
    this.proc = proc;
    this.logPath = logPath;
    this.exited = exited.then((info) => (this.exitInfo = info));
  }

  /**
   * Runs webhookd on a free loopback port with its data in dir and config
   * (text format) as its config file, and waits until it serves.
   */
  static async start(dir: string, config: string): Promise<ServerProcess> {
    const bin = webhookdBinary();
    const configPath = path.join(dir, "webhookd.textproto");
    fs.writeFileSync(configPath, config, { mode: 0o600 });
    const portFile = path.join(dir, "port");
    const logPath = path.join(dir, "webhookd.log");
    const log = fs.openSync(logPath, "w");
    const proc = spawn(
      bin,
      [
        "--listen=127.0.0.1:0",
        `--data_dir=${path.join(dir, "data")}`,
        `--port_file=${portFile}`,
        `--config=${configPath}`,
        "--allow_http_targets",
        "--allowed_cidrs=127.0.0.1/32",
        "--shutdown_grace_seconds=2",
      ],
      { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.on("exit", (code, signal) => resolve((exitInfo = { code, signal })));
      proc.on("error", () => resolve((exitInfo = { code: -1, signal: null })));
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const port = Number.parseInt(fs.readFileSync(portFile, "utf8").trim(), 10);
        if (port > 0) return new ServerProcess(`127.0.0.1:${port}`, proc, logPath, exited);
      } catch {
        // not written yet
      }
      if (exitInfo) {
        throw new Error(`webhookd exited before serving (${JSON.stringify(exitInfo)}):\n${readLog(logPath)}`);
      }
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`webhookd did not write ${portFile} within 60s:\n${readLog(logPath)}`);
      }
      await sleep(20);
    }
  }

  /** SIGTERM and wait; SIGKILL after 15 s. Rejects unless it exited cleanly. */
  async stop(): Promise<void> {
    if (this.exitInfo) throw new Error(`webhookd had exited: ${JSON.stringify(this.exitInfo)}`);
    this.proc.kill("SIGTERM");
    const timer = new Promise<"timeout">((resolve) => setTimeout(resolve, 15_000, "timeout").unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === "timeout") {
      this.proc.kill("SIGKILL");
      await this.exited;
      throw new Error("webhookd did not stop within 15s of SIGTERM");
    }
    if (result.code !== 0) throw new Error(`webhookd exited with ${JSON.stringify(result)}`);
  }

  log(): string {
    return readLog(this.logPath);
  }
}

function readLog(p: string): string {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One request the receiver got. */
export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A local HTTP server that answers 200 and records requests. */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly server: http.Server;
  private waiters: Array<(r: Received) => void> = [];
  private unread: Received[] = [];

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const got: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
        this.requests.push(got);
        const waiter = this.waiters.shift();
        if (waiter) waiter(got);
        else this.unread.push(got);
        res.writeHead(200).end();
      });
    });
  }

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, "127.0.0.1", resolve));
    return r;
  }

  /** The receiver's URL for path ("/hooks"). */
  url(p: string): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${p}`;
  }

  /** The next request, or a rejection after timeoutMs. */
  next(timeoutMs: number): Promise<Received> {
    const ready = this.unread.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = (r: Received) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no delivery within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A site of its own, so that runs against the same server do not match each other's subscriptions. */
export function uniqueSite(name: string): string {
  return `/tssdk/${name}/${randomBytes(8).toString("hex")}`;
}
