// A webhookd serving TLS with client certificates (mTLS): the client verifies
// it with rootCerts, presents certChain/privateKey, and sends its token as
// call credentials. Certificates come from the openssl CLI.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { WebhookdClient, errorCode, status } from "../src";
import { ServerProcess, adminToken, publisherToken, tempDir, tokensConfig } from "./server";

let dir: string;
let server: ServerProcess;
const clients: WebhookdClient[] = [];
const pem = (name: string) => fs.readFileSync(path.join(dir, name));

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A certificate and key signed by the test CA, with the given extensions. */
function issue(name: string, cn: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "1", "-out", `${name}.pem`, "-extfile", `${name}.ext`);
}

before(async () => {
  dir = tempDir("webhookd-ts-tls-");
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=webhookd TS SDK test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  issue("client", "client", "extendedKeyUsage=clientAuth\n");
  const config = `${tokensConfig}
tls {
  cert_file: "${path.join(dir, "server.pem")}"
  key_file: "${path.join(dir, "server.key")}"
  client_ca_file: "${path.join(dir, "ca.pem")}"
}
`;
  server = await ServerProcess.start(dir, config);
});

after(async () => {
  for (const c of clients) c.close();
  try {
    await server.stop();
  } catch (err) {
    process.stderr.write(`---- webhookd log ----\n${server.log()}---- end of webhookd log ----\n`);
    throw err;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(options: Omit<ConstructorParameters<typeof WebhookdClient>[0], "address">): WebhookdClient {
  const c = new WebhookdClient({ address: server.address, ...options });
  clients.push(c);
  return c;
}

test("over mTLS the token travels as call credentials", async () => {
  const admin = client({
    token: adminToken,
    tls: { rootCerts: pem("ca.pem"), certChain: pem("client.pem"), privateKey: pem("client.key") },
  });
  const { dialects } = await admin.dialects.listDialects({});
  assert.ok(dialects.length > 0, "want the built-in default dialect");

  // PEM strings, an explicit server name, another token.
  const publisher = client({
    token: publisherToken,
    tls: {
      rootCerts: pem("ca.pem").toString(),
      certChain: pem("client.pem").toString(),
      privateKey: pem("client.key").toString(),
      serverName: "localhost",
    },
  });
  await assert.rejects(publisher.events.getTransaction({ transactionId: "none" }), (e: unknown) => errorCode(e) === status.NOT_FOUND);

  // The same connection without a token is not let in.
  await assert.rejects(admin.withToken(undefined).dialects.listDialects({}), (e: unknown) => errorCode(e) === status.UNAUTHENTICATED);
});

test("without a client certificate, or without the CA, the call fails", async () => {
  const noCert = client({ token: adminToken, tls: { rootCerts: pem("ca.pem") } });
  await assert.rejects(noCert.dialects.listDialects({}, { timeoutMs: 10_000 }));

  const untrusted = client({ token: adminToken, tls: { certChain: pem("client.pem"), privateKey: pem("client.key") } });
  await assert.rejects(untrusted.dialects.listDialects({}, { timeoutMs: 10_000 }), (e: unknown) => errorCode(e) === status.UNAVAILABLE);
});

test("a plaintext client of a TLS server fails", async () => {
  const plain = client({ token: adminToken, tls: "insecure" });
  await assert.rejects(plain.dialects.listDialects({}, { timeoutMs: 10_000 }));
});

test("the constructor checks its options", () => {
  assert.throws(() => new WebhookdClient({ address: "" }), TypeError);
  assert.throws(() => new WebhookdClient({ address: server.address, tls: { certChain: pem("client.pem") } }), TypeError);
});
