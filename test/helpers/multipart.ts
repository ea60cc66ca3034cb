// Multipart bodies built byte by byte, so a test can send what no browser
// would (a NUL in a file name, a lying Content-Type), and send one cut off.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

export type Part = { name: string; value: string } | { name: string; filename: string; type?: string; data: Buffer };

/** A name with control characters goes as RFC 5987 `filename*` (a raw one is a malformed header), as a client would encode it. */
function fileNameParam(name: string): string {
  // eslint-disable-next-line no-control-regex -- looking for them is the point
  return /[\u0000-\u001f]/.test(name) ? `filename*=UTF-8''${encodeURIComponent(name)}` : `filename="${name}"`;
}

export function multipartBody(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----cw${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const head =
      'filename' in part
        ? `content-disposition: form-data; name="${part.name}"; ${fileNameParam(part.filename)}\r\ncontent-type: ${part.type ?? 'application/octet-stream'}\r\n`
        : `content-disposition: form-data; name="${part.name}"\r\n`;
    chunks.push(Buffer.from(`--${boundary}\r\n${head}\r\n`, 'utf8'), 'filename' in part ? part.data : Buffer.from(part.value, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POSTs parts with a bearer token; the JSON answer. */
export async function postMultipart(url: string, token: string | undefined, parts: Part[], headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const { body, contentType } = multipartBody(parts);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: new Uint8Array(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** Sends the first `sendBytes` of the body and then drops the connection; resolves once the socket is gone. */
export function postCutOff(url: string, token: string, parts: Part[], sendBytes: number): Promise<void> {
  const { body, contentType } = multipartBody(parts);
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(body.length), authorization: `Bearer ${token}` } });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(body.subarray(0, sendBytes), () => setTimeout(() => req.destroy(), 100));
  });
}

/** Every file under `dir`, relative, sorted (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
