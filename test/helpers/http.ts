// Runs the real app on an ephemeral port and talks to it with fetch, keeping
// cookies like a browser so session and CSRF behaviour is exercised for real.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULT_UPLOAD_MAX_BYTES } from '../../src/config.js';
import { multipartBody, type Part } from './multipart.js';
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { createApp, type AppDeps } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { createUser, type User } from '../../src/domain/users.js';
import { createApiToken } from '../../src/domain/api-tokens.js';
import type { Role } from '../../src/validation.js';
import { DAY, HOUR, toIso } from '../../src/time.js';

export interface TestServer {
  baseUrl: string;
  uploadDir: string;
  close(): Promise<void>;
}

export async function startTestServer(db: Knex, extra: Partial<AppDeps> = {}): Promise<TestServer> {
  // Each server keeps its uploads apart, in a folder of its own that a test may look into.
  const uploads = extra.uploads ?? { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-uploads-')), maxBytes: DEFAULT_UPLOAD_MAX_BYTES };
  const app = createApp({ db, log: createLogger('silent'), sessionSecret: 'test-secret-'.padEnd(40, 'x'), ...extra, uploads });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    uploadDir: uploads.dir,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          if (!extra.uploads) fs.rmSync(uploads.dir, { recursive: true, force: true });
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A JSON client authenticated by a bearer token (or none). */
export function apiClient(baseUrl: string, token?: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    patch: <T = any>(path: string, body?: unknown) => call<T>('PATCH', path, body ?? {}),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    call,
  };
}

export type ApiClient = ReturnType<typeof apiClient>;

let counter = 0;

/** A user with an API token; emails are unique per call. */
export async function userWithToken(db: Knex, role: Role, name: string = role): Promise<{ user: User; token: string }> {
  counter += 1;
  const user = await createUser(db, { email: `${name}${counter}@example.test`, password: 'password-123', role, name });
  return { user, token: await createApiToken(db, user.id) };
}

/** A course of the teacher's with the student in it and an active stage. */
export async function courseOfTeacherWithActiveStage(teacher: ApiClient, studentEmail: string, code: string) {
  const course = (await teacher.post('/api/courses', { title: code, code })).body;
  await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail });
  const now = Date.now();
  const stage = (await teacher.post(`/api/courses/${course.id}/stages`, { name: 'Open', startDate: toIso(now - HOUR), endDate: toIso(now + DAY) })).body;
  return { course, stage };
}

export interface PageResponse {
  status: number;
  text: string;
  location: string | null;
  headers: Headers;
}

/** A cookie-keeping browser-like client for the HTML pages; `headers` go with every request (X-Forwarded-For, ...). */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<PageResponse> {
    const res = await fetch(this.baseUrl + path, { headers: { ...this.headers, cookie: this.cookieHeader(), accept: 'text/html' }, redirect: 'manual' });
    this.keep(res);
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), headers: res.headers };
  }

  /** A form: an object, or pairs where a name repeats (checkboxes). */
  async post(path: string, form: Record<string, string> | [string, string][]): Promise<PageResponse> {
    const res = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), headers: res.headers };
  }

  /** A multipart form, as a page's form with enctype="multipart/form-data" sends it. */
  async postMultipart(path: string, parts: Part[]): Promise<PageResponse> {
    const { body, contentType } = multipartBody(parts);
    const res = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': contentType, accept: 'text/html' },
      body: new Uint8Array(body),
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), headers: res.headers };
  }

  /** The CSRF token embedded in a page's forms. */
  static csrfFrom(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error('no CSRF token on the page');
    return match[1];
  }

  async login(email: string, password: string): Promise<void> {
    const page = await this.get('/login');
    const res = await this.post('/login', { _csrf: Browser.csrfFrom(page.text), email, password });
    if (res.status !== 303) throw new Error(`login failed with ${res.status}`);
  }
}
