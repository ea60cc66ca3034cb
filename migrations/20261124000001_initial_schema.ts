// Instants are BIGINT epoch milliseconds in both SQLite and MySQL: one
// representation, no session time zone or DATETIME precision to get wrong.
// src/db/rows.ts converts them at the boundary.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.string('email', 254).notNullable().unique();
    t.string('name', 200).notNullable().defaultTo('');
    t.string('password_hash', 255).notNullable();
    t.string('role', 16).notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    // SHA-256 of the token: tokens are long random strings, so a fast hash is
    // enough, and a leaked table does not leak usable credentials.
    t.string('token_hash', 64).notNullable().unique();
    t.string('label', 100).notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_used_at').nullable();
  });

  await knex.schema.createTable('courses', (t) => {
    t.increments('id').primary();
    t.string('title', 200).notNullable();
    t.string('code', 40).notNullable().unique();
    t.string('timezone', 64).notNullable().defaultTo('UTC');
    t.integer('teacher_id').unsigned().notNullable().references('id').inTable('users');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['teacher_id']);
  });

  await knex.schema.createTable('course_members', (t) => {
    t.integer('course_id').unsigned().notNullable().references('id').inTable('courses').onDelete('CASCADE');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('created_at').notNullable();
    t.primary(['course_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('stages', (t) => {
    t.increments('id').primary();
    t.integer('course_id').unsigned().notNullable().references('id').inTable('courses').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.text('description').notNullable();
    t.bigInteger('start_date').notNullable();
    t.bigInteger('end_date').notNullable();
    t.string('status', 16).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['course_id', 'start_date']);
    // "What changes next": pending stages by start, unfinished stages by end.
    t.index(['status', 'start_date']);
    t.index(['status', 'end_date']);
  });

  await knex.schema.createTable('stage_transitions', (t) => {
    t.bigIncrements('id').primary();
    t.integer('stage_id').unsigned().notNullable().references('id').inTable('stages').onDelete('CASCADE');
    t.string('from_status', 16).notNullable();
    t.string('to_status', 16).notNullable();
    t.bigInteger('at').notNullable();
    t.string('cause', 16).notNullable();
    t.index(['stage_id', 'id']);
  });

  await knex.schema.createTable('submissions', (t) => {
    t.increments('id').primary();
    t.integer('stage_id').unsigned().notNullable().references('id').inTable('stages').onDelete('CASCADE');
    t.integer('student_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('body').nullable();
    t.string('link', 2000).nullable();
    t.bigInteger('created_at').notNullable();
    t.index(['stage_id', 'created_at']);
    t.index(['student_id']);
  });

  // Shape expected by connect-session-knex; created here, not by the store,
  // because several workers starting at once would race to create it.
  await knex.schema.createTable('sessions', (t) => {
    t.string('sid', 255).primary();
    t.text('sess').notNullable();
    if ((knex.client as Knex.Client).config.client === 'mysql2') t.dateTime('expired').notNullable().index();
    else t.timestamp('expired').notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sessions', 'submissions', 'stage_transitions', 'stages', 'course_members', 'courses', 'api_tokens', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
