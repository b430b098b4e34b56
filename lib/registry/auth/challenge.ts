// Parses WWW-Authenticate (RFC 9110 11.6.1): one header may hold several challenges, each a
// scheme followed by either a token68 or comma-separated name=value parameters, e.g.
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull", Basic realm="x"
// The header is first split into comma-separated items (commas inside quotes do not count);
// an item that starts with `name=` is a parameter of the current challenge, any other item
// starts a new challenge.

export interface Challenge {
  /** Lower-cased: 'bearer', 'basic'. */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
  token68?: string;
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const token68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  for (const item of splitItems(header)) {
    const param = parameter(item);
    const current = challenges.at(-1);
    if (param && current && current.token68 === undefined) {
      current.params[param.name] = param.value;
      continue;
    }
    const scheme = token.exec(item)?.[0];
    if (!scheme) continue;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    const rest = item.slice(scheme.length).trim();
    if (!rest) continue;
    const first = parameter(rest);
    if (first) challenge.params[first.name] = first.value;
    else if (token68.test(rest)) challenge.token68 = rest;
  }
  return challenges;
}

/** `name = value` with a token or quoted-string value; undefined when the item is not one. */
function parameter(item: string): { name: string; value: string } | undefined {
  const name = token.exec(item)?.[0];
  if (!name) return undefined;
  let rest = item.slice(name.length).trimStart();
  if (!rest.startsWith('=')) return undefined;
  rest = rest.slice(1).trimStart();
  // "abc==" is a token68 with padding, not a parameter with the value "=".
  if (rest === '' || rest.startsWith('=')) return undefined;
  if (rest.startsWith('"')) return { name: name.toLowerCase(), value: unquote(rest) };
  const value = token.exec(rest)?.[0];
  if (!value || rest.slice(value.length).trim() !== '') return undefined;
  return { name: name.toLowerCase(), value };
}

/** The content of a quoted-string at the start of `text`; a backslash escapes the next character. */
function unquote(text: string): string {
  let value = '';
  for (let i = 1; i < text.length && text[i] !== '"'; i++) {
    if (text[i] === '\\' && i + 1 < text.length) i++;
    value += text[i];
  }
  return value;
}

/** Splits on commas outside quoted strings; trims items and drops empty ones. */
function splitItems(header: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i]!;
    if (quoted && c === '\\' && i + 1 < header.length) {
      current += c + header[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  return items.map((item) => item.trim()).filter(Boolean);
}
