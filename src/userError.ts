/**
 * A failure the administrator caused and can act on: a wrong passphrase, a malformed PEM, a bad
 * value. The shell shows its message as one line and carries on; any other error is internal
 * (one line, the details in logs/shell-errors.log). Subclasses name what kind it is; the shell
 * tells them apart with `instanceof`, never by name.
 */
export class UserError extends Error {
  override name = 'UserError';
}
