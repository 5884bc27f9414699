import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A CA and one server certificate it signed, made at run time with the openssl CLI. */
export interface TestCertificates {
  dir: string;
  /** The CA certificate (PEM file and text): what clients trust. */
  caFile: string;
  caPem: string;
  /** The server's certificate and its private key (PEM files). */
  certificateFile: string;
  privateKeyFile: string;
}

/**
 * Makes a throw-away CA and a server certificate for `names` (IP addresses
 * and DNS names, e.g. `127.0.0.1`, `localhost`), valid for two days. ECDSA
 * P-256 keys: quick to make, and every TLS stack here speaks them.
 */
export async function makeTestCertificates(names: string[] = ['127.0.0.1', 'localhost']): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-certs-'));
  const path = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...key, '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '2', '-subj', '/CN=ClusterFlux test CA']);
  await run('openssl', ['req', ...key, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', `/CN=${names[0] ?? 'localhost'}`]);
  const altNames = names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  await writeFile(path('server.ext'), `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
  await run('openssl', ['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path('server.pem'), '-days', '2', '-extfile', path('server.ext')]);
  return { dir, caFile: path('ca.pem'), caPem: await readFile(path('ca.pem'), 'utf8'), certificateFile: path('server.pem'), privateKeyFile: path('server.key') };
}
