import { nodeTls } from '../node-builtins.ts';

/**
 * The CA list for a TLS client that trusts `extraPem` as well as Node's
 * default store (bundled CAs plus NODE_EXTRA_CA_CERTS). Undefined without an
 * extra bundle: the default store then applies as it is. (Node's `ca` option
 * replaces the default store, so the defaults must be listed again.)
 */
export function trustedCertificates(extraPem: string | undefined): string[] | undefined {
  return extraPem === undefined ? undefined : [...nodeTls().getCACertificates('default'), extraPem];
}
