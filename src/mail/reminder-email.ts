// The words of a reminder email, as text and as HTML: the stage, the course,
// the student's effective end in the course's time zone, and a link to the
// stage from PUBLIC_URL. The Message-ID is derived from the outbox row's key
// alone, so every send of one reminder is the same message.
import type { MailMessage } from './transport.js';
import { endInZone, reminderText } from '../domain/reminder-offsets.js';

export interface ReminderEmailInput {
  to: string;
  name: string;
  stageId: number;
  stageName: string;
  courseTitle: string;
  timezone: string;
  endAt: number;
  reminder: string;
  messageId: string;
  publicUrl: string;
}

/** `<reminder.12.34.p1d@host>`: one per stage, recipient and reminder. */
export function reminderMessageId(stageId: number, userId: number, reminder: string, publicUrl: string): string {
  const host = new URL(publicUrl).hostname || 'localhost';
  return `<reminder.${stageId}.${userId}.${reminder.toLowerCase()}@${host}>`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function reminderEmail(input: ReminderEmailInput): MailMessage {
  const end = endInZone(input.endAt, input.timezone);
  const link = `${input.publicUrl}/stages/${input.stageId}`;
  const lead = reminderText(input.reminder);
  const subject = `Reminder: ${input.stageName} (${input.courseTitle}) closes ${end}`;
  const text = [
    `Hello ${input.name},`,
    '',
    `"${input.stageName}" of ${input.courseTitle} closes for you on ${end}, in ${lead}, and you have not handed in work for it yet.`,
    '',
    `Hand in: ${link}`,
    '',
    'You get this because you are a student of the course. Coursework',
  ].join('\n');
  const html =
    `<p>Hello ${escapeHtml(input.name)},</p>` +
    `<p><strong>${escapeHtml(input.stageName)}</strong> of ${escapeHtml(input.courseTitle)} closes for you on <strong>${escapeHtml(end)}</strong>, ` +
    `in ${escapeHtml(lead)}, and you have not handed in work for it yet.</p>` +
    `<p><a href="${escapeHtml(link)}">Hand in your work</a></p>` +
    '<p style="color:#555">You get this because you are a student of the course. Coursework</p>';
  return { to: input.to, subject, text, html, messageId: input.messageId };
}
