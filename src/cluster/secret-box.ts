import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { CfluxError } from '../shared/errors.ts';

/** Prefix of values sealed now; `v1` values (no bound owner, no padding) can still be opened. */
const FORMAT = 'v2';
const LEGACY_FORMAT = 'v1';
/** A fixed salt: every agent must derive the same key from the same secret. */
const KEY_SALT = 'clusterflux/metadata-passwords/v1';
/** Associated data: what a sealed value belongs to, so it cannot be moved to another user. */
const OWNER_CONTEXT = 'clusterflux/user-password/v2\u0000';
/**
 * Plaintexts are padded to a multiple of this many bytes (after a 2-byte
 * length), so every password up to 126 bytes seals to the same size.
 */
const PAD_BLOCK = 128;

/**
 * Seals user passwords with AES-256-GCM under a key derived (scrypt) from the
 * cluster secret (`CFLUX_SECRET` or `--secret-file`). Sealed values look like
 * `v2:<iv>:<tag>:<ciphertext>` (base64): a fresh random IV per value, the
 * owner (the user's name) bound as associated data, and the plaintext padded
 * so its length does not show.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new CfluxError('INVALID_SETTING', 'the cluster secret must have at least 16 characters');
    this.#key = scryptSync(secret, KEY_SALT, 32);
  }

  /** Seals `plaintext` for `owner` (a user name): only opened again for the same owner. */
  seal(plaintext: string, owner: string): string {
    const text = Buffer.from(plaintext, 'utf8');
    if (text.length > 0xffff) throw new CfluxError('BAD_REQUEST', 'a password may have at most 65535 bytes');
    const padded = Buffer.alloc(Math.ceil((text.length + 2) / PAD_BLOCK) * PAD_BLOCK);
    padded.writeUInt16BE(text.length, 0);
    text.copy(padded, 2);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(OWNER_CONTEXT + owner, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Opens a value sealed for `owner`; a wrong secret, another owner or a tampered value is an error that says so. */
  open(sealed: string, owner: string): string {
    const [format, iv, tag, ciphertext] = sealed.split(':');
    if ((format !== FORMAT && format !== LEGACY_FORMAT) || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new CfluxError('BAD_REQUEST', 'a stored password is not in the sealed v2 (or v1) format');
    }
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
      if (format === FORMAT) decipher.setAAD(Buffer.from(OWNER_CONTEXT + owner, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]);
    } catch (err) {
      throw new CfluxError(
        'INVALID_SETTING',
        `cannot decrypt the stored password of user "${owner}": it was sealed for another user, tampered with, or this agent has a different CFLUX_SECRET than the one that wrote it`,
        { cause: err },
      );
    }
    if (format === LEGACY_FORMAT) return plain.toString('utf8');
    const length = plain.readUInt16BE(0);
    if (length > plain.length - 2) throw new CfluxError('BAD_REQUEST', `the stored password of user "${owner}" is malformed`);
    return plain.subarray(2, 2 + length).toString('utf8');
  }
}

/** The message every user statement gets when no cluster secret is configured. */
export const NO_SECRET_MESSAGE =
  'user statements need the cluster secret: set CFLUX_SECRET (at least 16 characters, the same on every agent) or --secret-file, then restart the agent';
