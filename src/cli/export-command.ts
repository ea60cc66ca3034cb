// The CLI's `submissions:export`, apart from commands.ts: its body is export-submissions.ts.
import { UsageError, type Command } from './command.js';
import { exportSubmissions } from './export-submissions.js';

export const exportCommand: Command = {
  usage: '<stageId> --out FILE.zip',
  summary: "write the latest version of every student's (or team's) hand-in with its files into one zip, one folder each (prints JSON)",
  options: { out: { type: 'string' } },
  async run({ db, config, args, positionals, out }) {
    const stageId = Number(positionals[0]);
    if (!/^\d+$/.test(positionals[0] ?? '') || !Number.isSafeInteger(stageId) || stageId < 1) throw new UsageError('Expected <stageId>, a stage id');
    if (typeof args.out !== 'string' || args.out === '') throw new UsageError('Missing --out FILE.zip');
    if (!(await db('stages').where({ id: stageId }).first('id'))) {
      process.stderr.write(`No stage with id ${stageId}\n`);
      return 1;
    }
    out(JSON.stringify(await exportSubmissions(db, config.uploads.dir, stageId, args.out)));
  },
};
