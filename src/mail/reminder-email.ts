// The words of a reminder email, as text and as HTML, in the recipient's
// language: the stage, the course, the student's effective end in the
// course's time zone, and a link to the stage from PUBLIC_URL. The Message-ID
// is derived from the outbox row's key alone, so every send of one reminder
// is the same message.
import type { MailMessage } from './transport.js';
import { translator, type Translate } from '../i18n/i18n.js';
import { formatDateTime } from '../i18n/format.js';
import type { Language } from '../i18n/languages.js';
import { reminderLead } from './reminder-lead.js';

export interface ReminderEmailInput {
  to: string;
  name: string;
  language: Language;
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

function bodyText(t: Translate, input: ReminderEmailInput, end: string, lead: string): string {
  return t('mail.body', { stage: input.stageName, course: input.courseTitle, end, lead });
}

export function reminderEmail(input: ReminderEmailInput): MailMessage {
  const t = translator(input.language);
  const end = formatDateTime(input.endAt, input.timezone, input.language);
  const link = `${input.publicUrl}/stages/${input.stageId}`;
  const lead = reminderLead(input.reminder, t);
  const subject = t('mail.subject', { stage: input.stageName, course: input.courseTitle, end });
  const text = [t('mail.hello', { name: input.name }), '', bodyText(t, input, end, lead), '', t('mail.handIn', { link }), '', t('mail.why')].join('\n');
  const html =
    `<p>${escapeHtml(t('mail.hello', { name: input.name }))}</p>` +
    `<p>${escapeHtml(bodyText(t, input, end, lead))}</p>` +
    `<p><a href="${escapeHtml(link)}">${escapeHtml(t('mail.handInLink'))}</a></p>` +
    `<p style="color:#555">${escapeHtml(t('mail.why'))}</p>`;
  return { to: input.to, subject, text, html, messageId: input.messageId, language: input.language };
}
