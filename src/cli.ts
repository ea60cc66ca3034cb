// `npm run cli -- <command>`: operator commands. A CLI process is never a
// cluster worker, so it never takes the scheduler lock nor starts jobs.
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { connect } from './db/connect.js';
import { AppError, ValidationError } from './errors.js';
import { commands, UsageError } from './cli/commands.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${(name + ' ' + c.usage).padEnd(62)} ${c.summary}`)
  .join('\n')}

Exit codes: 0 done, 1 failed, 2 bad usage.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${USAGE}\n`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nUsage: npm run cli -- ${name} ${command.usage}\n`);
    return 2;
  }
  const config = loadConfig();
  const db = connect(config.databaseUrl);
  try {
    return (await command.run({ db, config, args: args.values, positionals: args.positionals, out: (line) => process.stdout.write(line + '\n') })) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\nUsage: npm run cli -- ${name} ${command.usage}\n`);
      return 2;
    }
    if (err instanceof ValidationError) {
      process.stderr.write(`Invalid input: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`${err instanceof AppError ? err.message : (err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).stack}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
