// Parses WWW-Authenticate (RFC 9110 11.6.1): one header may hold several challenges, each a
// scheme followed by either a token68 or comma-separated name=value parameters, e.g.
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull", Basic realm="x"

export interface Challenge {
  /** Lower-cased: 'bearer', 'basic'. */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
  token68?: string;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const skipSeparators = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && tchar.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const readQuoted = () => {
    // At the opening quote; backslash escapes the next character.
    let value = '';
    i++;
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++;
    return value;
  };

  skipSeparators();
  while (i < n) {
    const scheme = readToken();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skipSpace();
    // Parameters until a token that is not followed by '=' (the next challenge's scheme).
    while (i < n) {
      skipSeparators();
      const mark = i;
      const name = readToken();
      skipSpace();
      if (!name || header[i] !== '=') {
        i = mark;
        break;
      }
      // token68 ends in '=' padding: "Basic abc==" has a name followed by '=' but no value.
      i++;
      skipSpace();
      if (header[i] === '"') {
        challenge.params[name.toLowerCase()] = readQuoted();
      } else if (i >= n || header[i] === ',' || header[i] === '=') {
        let end = i;
        while (end < n && header[end] === '=') end++;
        challenge.token68 = name + '='.repeat(end - i + 1);
        i = end;
      } else {
        challenge.params[name.toLowerCase()] = readToken();
      }
    }
    // A token68 without padding: "Negotiate abcdef".
    if (Object.keys(challenge.params).length === 0 && challenge.token68 === undefined && i < n) {
      const mark = i;
      skipSpace();
      const word = readToken();
      skipSpace();
      if (word && (i >= n || header[i] === ',')) {
        // Only a token68 when what follows is a separator and the next item is not a parameter.
        challenge.token68 = word;
      } else {
        i = mark;
      }
    }
    skipSeparators();
  }
  return challenges;
}
