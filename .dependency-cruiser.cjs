// dependency-cruiser: the layering of src/ stated as rules. Run as
// `depcruise src --config .dependency-cruiser.cjs` (part of `npm run lint`).
//
// The folders: src/db (knex connection, rows, clock, migrations), src/domain
// (courses, stages, submissions, users, API tokens), src/auth (password
// hashing), src/jobs (what each job does and when), src/scheduler (how jobs run
// in the leader: triggers, executions, run-now, and the seam a worker reaches
// the leader through), src/leadership (who leads: elections, terms), src/http (express app and routes), src/cluster
// (node:cluster primary/worker plumbing), src/cli (commands); shared basics
// (config, log, time, errors) sit directly in src/. src/db is the bottom;
// src/domain sits on it and must not reach the layers that drive it. The rules
// below are the layering: whatever they do not forbid is allowed.
// Entry points: src/main.ts (server), src/cli.ts (command line).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'This module is part of an import cycle. Break it (move the shared types or ' +
        'constants to a module both sides import, or invert the dependency). Type-only ' +
        'imports count: a cycle in types is still a cycle in the design.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-not-to-outer-layers',
      severity: 'error',
      comment:
        'src/domain holds the business rules; it must not know about HTTP, the ' +
        'scheduler, leadership, the cluster, the jobs or the CLI that drive it.',
      from: { path: '^src/domain/' },
      to: { path: '^src/(http|scheduler|leadership|cluster|jobs|cli)/' },
    },
    {
      name: 'http-not-to-cluster',
      severity: 'error',
      comment:
        'src/http serves requests in any process; the node:cluster plumbing in ' +
        'src/cluster wires it up, not the other way round.',
      from: { path: '^src/http/' },
      to: { path: '^src/cluster/' },
    },
    {
      name: 'db-not-to-upper-layers',
      severity: 'error',
      comment:
        'src/db is the bottom layer (connection, rows, clock, migrations); it must ' +
        'not import the domain or anything built on it.',
      from: { path: '^src/db/' },
      to: { path: '^src/(domain|http|scheduler|leadership|cluster|jobs)/' },
    },
    {
      name: 'leadership-not-to-upper-layers',
      severity: 'error',
      comment:
        'src/leadership decides who leads (elections, terms); what the leader does ' +
        '(the scheduler), what reaches it (the seam in src/scheduler/leader-link.ts), the ' +
        'cluster, HTTP, jobs and the domain are above it.',
      from: { path: '^src/leadership/' },
      to: { path: '^src/(domain|jobs|scheduler|cluster|http|cli)/' },
    },
    {
      name: 'scheduler-not-to-cluster-http-or-cli',
      severity: 'error',
      comment:
        'src/scheduler runs jobs in the leader and holds the worker-to-leader seam; ' +
        'the seam sends and hears its own messages over the process IPC (the worker ' +
        'tells it whether it is a cluster worker), so the scheduler never imports ' +
        'src/cluster, src/http or src/cli.',
      from: { path: '^src/scheduler/' },
      to: { path: '^src/(cluster|http|cli)/' },
    },
    {
      name: 'server-not-to-cli',
      severity: 'error',
      comment: 'The command line sits on top; nothing in the server imports it.',
      from: { path: '^src/(cluster|http|scheduler|leadership|jobs|domain|db|auth)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'jobs-not-to-http-or-cluster',
      severity: 'error',
      comment:
        'Jobs say what runs and when; they must not depend on what runs them (the ' +
        'scheduler, leadership), the HTTP layer or the cluster plumbing.',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(http|cluster|scheduler|leadership)/' },
    },
    {
      name: 'auth-not-to-outer-layers',
      severity: 'error',
      comment:
        'src/auth (password hashing) is a leaf the domain uses; it must not import ' +
        'the domain or anything above it.',
      from: { path: '^src/auth/' },
      to: { path: '^src/(domain|http|scheduler|leadership|cluster|jobs|cli)/' },
    },
    {
      name: 'src-not-to-test-or-bench',
      severity: 'error',
      comment: 'Production code must not import tests, test helpers or benches.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment:
        'This module is imported by nothing and imports nothing: likely unused. ' +
        'Use it or remove it. Entry points, dotfiles and declaration files are exempt.',
      from: {
        orphan: true,
        pathNot: [
          '(^|/)\\.[^/]+\\.(js|cjs|mjs|ts|json)$', // dotfiles
          '\\.d\\.(c|m)?ts$', // TypeScript declaration files
          '(^|/)tsconfig\\.json$',
          '^src/main\\.ts$', // entry point: the server
          '^src/cli\\.ts$', // entry point: the command line
        ],
      },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'This module imports something that cannot be resolved to a file. If it is ' +
        'an npm package, add it to package.json; otherwise fix the path.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Only src/ is cruised; packages are recorded but not followed into.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|data)/' },
    // Count `import type` too: tsc erases them, but they still tie modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      // `.js` specifiers that name `.ts` sources resolve like tsc does (NodeNext).
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
