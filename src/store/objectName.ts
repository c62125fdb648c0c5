import { z } from 'zod';

/** The name of a configured object (listener, certificate profile, bounce profile …). */
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export const objectName = z
  .string()
  .regex(NAME_RE, 'must start with a letter and hold only letters, digits, "_", "-" or "." (at most 64)');
