// The type a file is recorded and served with. The client's Content-Type is
// a claim: a file whose first bytes are one of a few well-known formats gets
// that format's type whatever was claimed, and a claim of one of those
// formats that the bytes do not bear out becomes application/octet-stream.
// Downloads are attachments with nosniff either way; this keeps the type in
// the JSON honest.
const SIGNATURES: { type: string; magic: Buffer }[] = [
  { type: 'application/pdf', magic: Buffer.from('%PDF-') },
  { type: 'application/zip', magic: Buffer.from([0x50, 0x4b, 0x03, 0x04]) },
  { type: 'image/png', magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', magic: Buffer.from([0xff, 0xd8, 0xff]) },
  { type: 'image/gif', magic: Buffer.from('GIF8') },
];

/** Bytes enough to recognise every signature above. */
export const SNIFF_BYTES = 16;

const OCTET_STREAM = 'application/octet-stream';
// type/subtype, tokens only (RFC 9110), no parameters kept.
const MIME = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/;

export function recordedContentType(claimed: string | undefined, head: Buffer): string {
  const sniffed = SIGNATURES.find(({ magic }) => head.subarray(0, magic.length).equals(magic));
  if (sniffed) return sniffed.type;
  const type = (claimed ?? '').split(';')[0].trim().toLowerCase();
  if (!MIME.test(type) || SIGNATURES.some((s) => s.type === type)) return OCTET_STREAM;
  return type;
}

/** Types a browser would run as a document or script if it ever rendered one: never sent as themselves. */
const ACTIVE = /^(text\/html|text\/xml|text\/javascript|application\/(xhtml\+xml|xml|javascript|ecmascript)|image\/svg\+xml)$|\+xml$/;

/**
 * The type a download is sent with: the recorded one, except markup and
 * script, which go as application/octet-stream. They are attachments behind
 * nosniff and a sandboxing CSP already; this way not even a browser that
 * ignored those would take them for a page of our origin.
 */
export function servedContentType(recorded: string): string {
  return ACTIVE.test(recorded) ? OCTET_STREAM : recorded;
}
