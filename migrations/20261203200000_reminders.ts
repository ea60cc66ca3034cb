// Reminders and calendar feeds (issue 23).
//
// stages.reminders and courses.default_reminders hold a JSON array of ISO-8601
// durations (["P1D","PT2H"]); NULL reads as none. A course's defaults are
// copied into each new stage, so changing them never changes existing stages.
//
// reminder_decisions: one row per (stage, window, reminder, instant) the leader
// has decided. A window is the stage's own ('stage') or an override's
// ('override:<id>'); the instant is in the key, so moving an end date makes a
// new instant to decide, while reminder_outbox's unique (stage, user,
// reminder) still reminds nobody twice for the same reminder.
//
// reminder_outbox: one row per student and reminder, written in the fenced
// transaction that decides it (with its in-app notification), then delivered
// and marked. message_id is fixed per row, so a resend after a crash between
// the mail server's acceptance and the mark is the same message.
//
// notifications: in-app notices; outbox_id is unique, so a notice is written
// once per outbox row.
//
// calendar_feeds: one secret feed address per user; only the SHA-256 of the
// token is kept.
import type { Knex } from 'knex';

async function createOutbox(knex: Knex): Promise<void> {
  await knex.schema.createTable('reminder_decisions', (t) => {
    t.increments('id').primary();
    t.integer('stage_id').unsigned().notNullable().references('id').inTable('stages').onDelete('CASCADE');
    t.string('window_key', 40).notNullable();
    t.string('reminder', 40).notNullable();
    t.bigInteger('due_at').notNullable();
    t.bigInteger('decided_at').notNullable();
    t.integer('recipients').notNullable().defaultTo(0);
    t.bigInteger('term').nullable();
    t.unique(['stage_id', 'window_key', 'reminder', 'due_at']);
  });
  await knex.schema.createTable('reminder_outbox', (t) => {
    t.increments('id').primary();
    t.integer('stage_id').unsigned().notNullable().references('id').inTable('stages').onDelete('CASCADE');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('reminder', 40).notNullable();
    t.bigInteger('due_at').notNullable();
    // The student's effective end the reminder counts back from.
    t.bigInteger('end_at').notNullable();
    t.bigInteger('decided_at').notNullable();
    // pending (email to send), sent, skipped, failed.
    t.string('status', 16).notNullable();
    // pending, sent, failed, off (no SMTP_URL), skipped.
    t.string('email', 16).notNullable();
    t.string('message_id', 200).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').nullable();
    // The term of the leader that took the row to send; a row taken by an older term is taken again.
    t.bigInteger('claimed_term').nullable();
    t.bigInteger('sent_at').nullable();
    t.text('error').nullable();
    t.bigInteger('term').nullable();
    t.unique(['stage_id', 'user_id', 'reminder']);
    t.index(['next_attempt_at']);
  });
}

export async function up(knex: Knex): Promise<void> {
  // ADD COLUMN, not knex's alterTable on SQLite: that copies the table and would lose next_boundary.
  await knex.raw('ALTER TABLE stages ADD COLUMN reminders TEXT NULL');
  await knex.raw('ALTER TABLE courses ADD COLUMN default_reminders TEXT NULL');
  await createOutbox(knex);
  await knex.schema.createTable('notifications', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('kind', 40).notNullable();
    t.integer('stage_id').unsigned().nullable().references('id').inTable('stages').onDelete('CASCADE');
    t.integer('outbox_id').unsigned().nullable().references('id').inTable('reminder_outbox').onDelete('CASCADE');
    t.bigInteger('at').notNullable();
    t.string('text', 1000).notNullable();
    t.bigInteger('read_at').nullable();
    t.unique(['outbox_id']);
    t.index(['user_id', 'read_at']);
  });
  await knex.schema.createTable('calendar_feeds', (t) => {
    t.integer('user_id').unsigned().notNullable().primary().references('id').inTable('users').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('calendar_feeds');
  await knex.schema.dropTableIfExists('notifications');
  await knex.schema.dropTableIfExists('reminder_outbox');
  await knex.schema.dropTableIfExists('reminder_decisions');
  // In place on both dialects (SQLite 3.35+): neither column is in an index or a foreign key.
  await knex.raw('ALTER TABLE courses DROP COLUMN default_reminders');
  await knex.raw('ALTER TABLE stages DROP COLUMN reminders');
}
