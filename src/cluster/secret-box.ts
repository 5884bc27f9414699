import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { CfluxError } from '../shared/errors.ts';

/** Prefix of every sealed value, so the format can change later. */
const FORMAT = 'v1';
/** A fixed salt: every agent must derive the same key from the same secret. */
const KEY_SALT = 'clusterflux/metadata-passwords/v1';

/**
 * Seals user passwords with AES-256-GCM under a key derived (scrypt) from the
 * cluster secret (`CFLUX_SECRET` or `--secret-file`). Sealed values look like
 * `v1:<iv>:<tag>:<ciphertext>` (base64); a fresh random IV per value.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new CfluxError('INVALID_SETTING', 'the cluster secret must have at least 16 characters');
    this.#key = scryptSync(secret, KEY_SALT, 32);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Opens a sealed value; a wrong secret or a tampered value is an error that says so. */
  open(sealed: string): string {
    const [format, iv, tag, ciphertext] = sealed.split(':');
    if (format !== FORMAT || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new CfluxError('BAD_REQUEST', 'a stored password is not in the sealed v1 format');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new CfluxError('INVALID_SETTING', 'cannot decrypt a stored password: this agent has a different CFLUX_SECRET than the one that wrote it', { cause: err });
    }
  }
}

/** The message every user statement gets when no cluster secret is configured. */
export const NO_SECRET_MESSAGE =
  'user statements need the cluster secret: set CFLUX_SECRET (at least 16 characters, the same on every agent) or --secret-file, then restart the agent';
