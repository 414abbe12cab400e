import { bool, int, list, str } from '../config-key.js';

export const Server = {
  Host: str('127.0.0.1', 'Address videodex serve listens on.'),
  Port: int(8080, { min: 0, max: 65535 }, 'Port videodex serve listens on (0 = any free port).'),
  AllowedHosts: list(
    [],
    "Host names videodex serve answers to besides IP addresses, localhost and this machine's own name (a name your DNS or a proxy gives it; a leading dot allows its subdomains: .home.lan). Requests for any other name are refused (403): another site pointing its name at this server (DNS rebinding) could otherwise read the library through a visitor's browser.",
  ),
  Token: str(
    '',
    'A password for videodex serve (prefer the environment: VIDEODEX_SERVER_TOKEN). When set, every request must carry it: API clients send Authorization: Bearer <token>, the web page asks once and keeps a session cookie. Tag edits are then taken beyond loopback too. Empty: no password (fine on 127.0.0.1). Sent in clear without a TLS proxy in front. Never logged.',
    { secret: true },
  ),
  AllowEdits: bool(
    false,
    "Let videodex serve take tag edits (the web page's tag controls, POST /api/videos/:id/tags) while it listens beyond loopback, where anyone who can reach the port could change the library's tags (no password; or set Token). On a loopback address they are always taken.",
  ),
} as const;
