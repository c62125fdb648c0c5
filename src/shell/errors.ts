import { UserError } from '../userError.js';

/** End of input inside a dialog: the dialog is abandoned and the draft stays as it was. */
export class EndOfInput extends Error {
  override name = 'EndOfInput';
  constructor() {
    super('end of input');
  }
}

/** Ctrl-C at a prompt. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** A command failed for a reason the administrator can act on; the message says what. */
export class CommandError extends UserError {
  override name = 'CommandError';
}
