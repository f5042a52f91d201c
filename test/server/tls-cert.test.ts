/** test/support/tls-cert.ts makes a certificate that Bun serves and a strict client accepts with the CA. */
import { afterAll, expect, test } from "bun:test";
import { makeTestCertificate } from "../support/tls-cert.ts";

const certificate = makeTestCertificate();
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  tls: { cert: certificate.cert, key: certificate.key },
  fetch: (request, server) => (server.upgrade(request) ? undefined : new Response("over tls")),
  websocket: { message: (ws, message) => void ws.send(`echo ${message}`) },
});
afterAll(() => {
  server.stop(true);
  certificate.remove();
});

test("https by IP address and by name, the client trusting only the CA", async () => {
  const { ca } = certificate;
  for (const host of ["127.0.0.1", "localhost"]) {
    const response = await fetch(`https://${host}:${server.port}/`, { tls: { ca } });
    expect(await response.text()).toBe("over tls");
  }
});

test("a client that does not trust the CA refuses the certificate", async () => {
  await expect(fetch(`https://127.0.0.1:${server.port}/`)).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
});

test("a certificate without the address in its subjectAltName is refused, though its CA is trusted", async () => {
  const other = makeTestCertificate({ hosts: ["example.test"] });
  const wrong = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: other.cert, key: other.key }, fetch: () => new Response("no") });
  try {
    await expect(fetch(`https://127.0.0.1:${wrong.port}/`, { tls: { ca: other.ca } })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  } finally {
    wrong.stop(true);
    other.remove();
  }
});

test("wss with the CA", async () => {
  // Bun's WebSocket takes { tls }; the DOM typings of the constructor know only protocols
  const options = { tls: { ca: certificate.ca } } as unknown as string[];
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, options);
  const reply = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send("hi");
    ws.onmessage = (event) => resolve(String(event.data));
    ws.onerror = () => reject(new Error("wss failed"));
  });
  ws.close();
  expect(reply).toBe("echo hi");
});

test("the files are PEM, the key matches the certificate, and openssl verifies the chain", () => {
  expect(certificate.cert).toStartWith("-----BEGIN CERTIFICATE-----");
  expect(certificate.key).toContain("PRIVATE KEY-----");
  const verify = Bun.spawnSync(["openssl", "verify", "-CAfile", certificate.caFile, "-verify_hostname", "localhost", "-verify_ip", "127.0.0.1", certificate.certFile]);
  expect(verify.stdout.toString().trim()).toBe(`${certificate.certFile}: OK`);
  const text = Bun.spawnSync(["openssl", "x509", "-in", certificate.certFile, "-noout", "-ext", "subjectAltName,basicConstraints"]).stdout.toString();
  expect(text).toContain("DNS:localhost");
  expect(text).toContain("IP Address:127.0.0.1");
  expect(text).toContain("CA:FALSE");
  const fromKey = Bun.spawnSync(["openssl", "pkey", "-in", certificate.keyFile, "-pubout"]).stdout.toString();
  const fromCert = Bun.spawnSync(["openssl", "x509", "-in", certificate.certFile, "-noout", "-pubkey"]).stdout.toString();
  expect(fromKey).toStartWith("-----BEGIN PUBLIC KEY-----");
  expect(fromKey).toBe(fromCert);
});
