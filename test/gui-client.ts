import https from 'node:https';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  raw: Buffer;
}

/**
 * A browser's part for tests of the HTTPS interface: keeps cookies, finds the CSRF token of the
 * last page, follows nothing by itself (tests look at the redirects).
 */
export class GuiClient {
  readonly cookies = new Map<string, string>();
  last = '';

  constructor(
    readonly port: number,
    /** The loopback address the client connects from (failed logins are counted per address). */
    readonly localAddress = '127.0.0.1',
    readonly host = '127.0.0.1',
    readonly agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false }),
  ) {}

  request(method: string, path: string, body?: string | Buffer, type = 'application/x-www-form-urlencoded'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      if (body !== undefined) Object.assign(headers, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      const chunks: Buffer[] = [];
      const req = https.request({ host: this.host, port: this.port, localAddress: this.localAddress, path, method, agent: this.agent, headers }, (res) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          for (const c of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
            const [pair] = c.split(';');
            const [k, ...v] = pair!.split('=');
            if (/Max-Age=0/i.test(c)) this.cookies.delete(k!);
            else this.cookies.set(k!, v.join('='));
          }
          if (res.headers['content-type']?.startsWith('text/html')) this.last = text;
          resolve({ status: res.statusCode!, headers: res.headers, body: text, raw: Buffer.concat(chunks) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  /** The CSRF token of the last HTML page. */
  get csrf(): string {
    return /name="_csrf" value="([^"]+)"/.exec(this.last)?.[1] ?? '';
  }

  /** POST a form with the last page's token (unless the fields give their own). */
  post(path: string, fields: Record<string, string>, withToken = true): Promise<Answer> {
    const all = withToken ? { _csrf: this.csrf, ...fields } : fields;
    return this.request('POST', path, new URLSearchParams(all).toString());
  }

  /** POST a multipart form (file uploads) with the last page's token. */
  postFiles(path: string, fields: Record<string, string>, files: Record<string, { name: string; data: Buffer }>): Promise<Answer> {
    const boundary = `----mxgate${Date.now()}`;
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries({ _csrf: this.csrf, ...fields })) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    for (const [k, f] of Object.entries(files)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), f.data, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return this.request('POST', path, Buffer.concat(parts), `multipart/form-data; boundary=${boundary}`);
  }

  async login(user: string, password: string): Promise<Answer> {
    await this.get('/login');
    return this.post('/login', { username: user, password });
  }

  /** GET a page after a redirect and return its flash message. */
  async flash(path: string): Promise<string> {
    const page = await this.get(path);
    return /class="flash [a-z]+"[^>]*>([^<]*)</.exec(page.body)?.[1]?.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&') ?? '';
  }
}
