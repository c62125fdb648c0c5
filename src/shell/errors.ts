import { UserError } from '../userError.js';

/**
 * End of input: the dialog is abandoned and the draft stays as it was. At a terminal this is
 * Ctrl-D (`keyboard`): the input goes on, so the shell treats it as `quit` at its prompt and as
 * "cancel" inside a dialog.
 */
export class EndOfInput extends Error {
  override name = 'EndOfInput';
  constructor(readonly keyboard = false) {
    super(keyboard ? 'Ctrl-D' : 'end of input');
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
