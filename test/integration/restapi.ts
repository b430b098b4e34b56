// A stand-in for Terraform's Mastercard/restapi provider, making exactly the calls it makes
// (../shared/RESTAPI-NOTES.md): Go-encoded bodies (keys sorted, compact, <>& escaped), no
// Accept header, URL = uri + path joined as text, v2's double GET on read, drift computed
// against `data` minus `ignore_changes_to`, replacement as DELETE then POST.

export type Version = 2 | 3;

export interface ObjectSettings {
  path: string;
  data: Record<string, unknown>;
  createReturnsObject?: boolean;
  writeReturnsObject?: boolean;
  ignoreChangesTo?: string[];
}

export interface CallLog {
  method: string;
  url: string;
  status: number;
}

export class RestapiProviderError extends Error {}

/** Go's encoding/json for a map: keys sorted, no spaces, HTML characters escaped. */
export function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sorted(value))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export class RestapiProvider {
  readonly calls: CallLog[] = [];

  constructor(
    readonly version: Version,
    private readonly uri: string,
    private readonly token: string,
  ) {}

  private async send(method: string, path: string, data?: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    // The provider joins uri and path as text, without escaping.
    const url = `${this.uri.replace(/\/$/, '')}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (data) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: data ? goJson(data) : undefined, redirect: 'manual' });
    const text = await response.text();
    this.calls.push({ method, url, status: response.status });
    if (response.status >= 300 && response.status < 400) throw new RestapiProviderError(`unexpected redirect ${response.status}`);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, body };
  }

  private ok(status: number, what: string, body: unknown): void {
    if (status < 200 || status > 299) throw new RestapiProviderError(`${what}: unexpected response code '${status}': ${JSON.stringify(body)}`);
  }

  /** terraform apply of a new object: returns the id and the object as stored in state. */
  async create(settings: ObjectSettings): Promise<{ id: string; apiData: Record<string, unknown> }> {
    const { status, body } = await this.send('POST', settings.path, settings.data);
    this.ok(status, 'create', body);
    if (settings.createReturnsObject || settings.writeReturnsObject) {
      if (!body || typeof body !== 'object' || typeof (body as { id?: unknown }).id !== 'string') {
        throw new RestapiProviderError('create: the response has no top-level string "id"');
      }
      return { id: (body as { id: string }).id, apiData: body as Record<string, unknown> };
    }
    const id = (body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new RestapiProviderError('create: the response has no id');
    const read = await this.read(settings, id);
    if (!read) throw new RestapiProviderError('create: the object is gone right after it was created');
    return { id, apiData: read };
  }

  /** Every plan and refresh. Undefined: 404 (v2 drops the object from state). */
  async read(settings: ObjectSettings, id: string): Promise<Record<string, unknown> | undefined> {
    const reads = this.version === 2 ? 2 : 1;
    let last: Record<string, unknown> | undefined;
    for (let i = 0; i < reads; i++) {
      const { status, body } = await this.send('GET', `${settings.path}/${id}`);
      if (status === 404) return undefined;
      this.ok(status, 'read', body);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new RestapiProviderError('read: not a JSON object');
      last = body as Record<string, unknown>;
    }
    return last;
  }

  /** The keys whose values differ between `data` and the server's answer (the plan's drift). */
  drift(settings: ObjectSettings, apiData: Record<string, unknown>): string[] {
    const ignored = new Set(settings.ignoreChangesTo ?? []);
    const keys = new Set([...Object.keys(settings.data), ...Object.keys(apiData)]);
    return [...keys].filter((k) => !ignored.has(k) && JSON.stringify(settings.data[k]) !== JSON.stringify(apiData[k])).sort();
  }

  async update(settings: ObjectSettings, id: string): Promise<Record<string, unknown>> {
    const { status, body } = await this.send('PUT', `${settings.path}/${id}`, settings.data);
    this.ok(status, 'update', body);
    if (settings.writeReturnsObject) return body as Record<string, unknown>;
    const read = await this.read(settings, id);
    if (!read) throw new RestapiProviderError('update: the object is gone');
    return read;
  }

  /** terraform destroy: 2xx or 404 (v3 also 410) is success. */
  async destroy(settings: ObjectSettings, id: string): Promise<void> {
    const { status, body } = await this.send('DELETE', `${settings.path}/${id}`);
    if (status === 404 || (this.version === 3 && status === 410)) return;
    this.ok(status, 'destroy', body);
  }

  /** terraform import restapi_object.x /v1/images/{id}. */
  async import(path: string): Promise<Record<string, unknown>> {
    const { status, body } = await this.send('GET', path);
    this.ok(status, 'import', body);
    return body as Record<string, unknown>;
  }
}
