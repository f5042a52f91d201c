/**
 * A certificate for a TLS test, made with the real openssl CLI in a fresh temporary directory: a
 * throw-away CA and a leaf certificate it signs for `localhost`, `127.0.0.1` and `::1` (in the
 * subjectAltName, which is what clients check; the CN is not). A strict client that trusts `ca`
 * accepts it: `fetch(url, { tls: { ca } })`, `new WebSocket(url, { tls: { ca } })`. The leaf is no
 * CA itself (some verifiers refuse a CA certificate presented as a server's). EC P-256: made in ms.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type TestCertificate = {
  /** The temporary directory holding every file below. */
  readonly dir: string;
  /** The server's certificate and key (PEM), as TLS_CERT_FILE and TLS_KEY_FILE take them. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed it: what a client trusts. */
  readonly caFile: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  /** Deletes the directory. */
  remove(): void;
};

export type TestCertificateOptions = {
  /** Names in the subjectAltName (default localhost, 127.0.0.1, ::1); an IP address becomes an IP entry. */
  readonly hosts?: readonly string[];
  /** Days the certificates are valid (default 2). */
  readonly days?: number;
};

const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];

export function makeTestCertificate({ hosts = DEFAULT_HOSTS, days = 2 }: TestCertificateOptions = {}): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "pubsub-tls-"));
  const file = (name: string) => join(dir, name);
  try {
    const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(["req", "-x509", ...curve, "-keyout", file("ca-key.pem"), "-out", file("ca.pem"), "-days", String(days),
      "-subj", "/CN=pubsub test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(["req", "-new", ...curve, "-keyout", file("key.pem"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
    const san = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(",");
    writeFileSync(
      file("server.ext"),
      [`subjectAltName=${san}`, "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth", ""].join("\n"),
    );
    openssl(["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial",
      "-out", file("cert.pem"), "-days", String(days), "-extfile", file("server.ext")]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    certFile: file("cert.pem"),
    keyFile: file("key.pem"),
    caFile: file("ca.pem"),
    cert: readFileSync(file("cert.pem"), "utf8"),
    key: readFileSync(file("key.pem"), "utf8"),
    ca: readFileSync(file("ca.pem"), "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function openssl(args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
  if (!run.success) {
    throw new Error(`openssl ${args[0]} failed (exit ${run.exitCode}): ${run.stderr.toString().trim()} — is the openssl CLI installed (Debian: openssl)?`);
  }
}
