/**
 * Headers every answer of the server carries, the UI's pages and the API's JSON alike. The UI
 * holds a token, so no other site may frame it (clickjacking: X-Frame-Options for older
 * browsers, `frame-ancestors` for the rest), sniff a type into its answers, or learn its
 * URLs (job ids) from a Referer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  // Answers that are not the UI's pages load nothing and may be framed by no one.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * The UI's policy: everything it loads comes from this server (inline style attributes
 * position the timeline's bars), and no page may frame it.
 */
export const UI_CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
