/**
 * The layering rules of mxgate (docs/architecture.md draws them): CI fails on any of these.
 * Type-only imports count too (tsPreCompilationDeps), because a cycle of types is still a cycle
 * of knowledge: two modules that cannot be understood or changed apart.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle anywhere: a cycle makes every module in it depend on all the others.',
      severity: 'error',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'engine-knows-only-mail',
      comment:
        'The engine (listeners, queue, delivery, DNS, TLS, logs, alerts, workers) never imports a front-end ' +
        '(GUI, SSH, shell, commands) or the composition root that builds them: front-ends reach it ' +
        'through control/ and are handed to it as FrontEnds (engine/frontEnds.ts).',
      severity: 'error',
      from: { path: '^src/engine' },
      to: { path: '^src/(gui|ssh|shell|commands|appliance|cli\\.ts)' },
    },
    {
      name: 'store-at-the-bottom',
      comment: 'The configuration model and its edits are shared by every front-end and the engine: it imports only pki/ and leaf helpers.',
      severity: 'error',
      from: { path: '^src/store' },
      to: { path: '^src/(engine|control|access|gui|ssh|shell|commands|appliance|cli\\.ts)' },
    },
    {
      name: 'pki-at-the-bottom',
      comment: 'Keys, certificates and chains know nothing of the appliance around them.',
      severity: 'error',
      from: { path: '^src/pki' },
      to: { path: '^src/(store|engine|control|access|gui|ssh|shell|commands|appliance|cli\\.ts)' },
    },
    {
      name: 'control-is-a-leaf',
      comment:
        'The operation table, its wire types (control/status.ts), client and server are used by the engine and every ' +
        'front-end; they import no engine module, not even a type (the wire is described here and the engine fits it), and no front-end.',
      severity: 'error',
      from: { path: '^src/control' },
      to: { path: '^src/(engine|gui|ssh|shell|commands|appliance|access)' },
    },
    {
      name: 'front-ends-see-only-the-engine-contract',
      comment:
        'The GUI, SSH, the shell and the commands act on the engine through control/ only; of the engine itself they may ' +
        'import just the contract they fulfil (engine/frontEnds.ts) and the binding routine every service shares (engine/bindings.ts).',
      severity: 'error',
      from: { path: '^src/(gui|ssh|shell|commands|access)' },
      to: { path: '^src/engine', pathNot: '^src/engine/(frontEnds|bindings)\\.ts$' },
    },
    {
      name: 'front-ends-apart',
      comment:
        'The GUI is a front-end beside the shell, not on top of it: what both do to a draft lives in store/ ' +
        '(certificate operations, answer checks, log files), so the GUI imports neither the shell, its commands, SSH nor the composition root.',
      severity: 'error',
      from: { path: '^src/gui' },
      to: { path: '^src/(ssh|shell|commands|appliance)' },
    },
    {
      name: 'ssh-apart',
      comment: 'SSH runs the shell it is handed (type imports only of repl), never the GUI or the composition root.',
      severity: 'error',
      from: { path: '^src/ssh' },
      to: { path: '^src/(gui|appliance|commands)' },
    },
    {
      name: 'shell-is-handed-its-commands',
      comment:
        'The shell (line reader, prompts, REPL) runs the commands it is given (cli.ts and the composition root hand in commands/index.ts); ' +
        'commands build on the shell, not the other way round. It is handed the way to start a local engine too (cli.ts passes appliance/daemon.ts startEngine).',
      severity: 'error',
      from: { path: '^src/shell' },
      to: { path: '^src/(commands|gui|ssh|appliance)/' },
    },
    {
      name: 'nodemailer-only-in-the-smtp-client',
      comment: 'One module knows nodemailer and its internals: the SMTP client of delivery.',
      severity: 'error',
      from: { pathNot: '^src/engine/delivery/smtpClient\\.ts$' },
      to: { path: '(^|/)nodemailer(/|$)' },
    },
    {
      name: 'smtp-server-only-in-the-listener',
      comment: 'smtp-server and its internals are known to one adapter module; each hook it makes has a test (test/unit/smtp-server-internals.test.ts).',
      severity: 'error',
      from: { pathNot: '^src/engine/listener/smtpServerAdapter\\.ts$' },
      to: { path: '(^|/)smtp-server(/|$)' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
  },
};
