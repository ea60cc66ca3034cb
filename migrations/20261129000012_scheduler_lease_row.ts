// The scheduler's lease row exists from the start and is never deleted (a
// released lease has expires_at 0), so taking the lease is always a
// conditional UPDATE of that one row: contenders on MySQL queue on its row
// lock instead of deadlocking over gap and insert locks on a missing row.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const present: unknown = await knex('scheduler_leases').where({ name: 'scheduler' }).first('name');
  if (!present) await knex('scheduler_leases').insert({ name: 'scheduler', term: 0, pid: 0, hostname: '', worker_id: null, acquired_at: 0, expires_at: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex('scheduler_leases').where({ name: 'scheduler', expires_at: 0 }).delete();
}
