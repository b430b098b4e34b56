// What a client may send: `{"source", "destination"}` and nothing else, both image references.
// Validation gives a reason a person can act on; nothing is written for bad input.
// zod/mini: the same validation, tree-shakable (the full zod is 445 KiB of the Lambda bundle).
import * as z from 'zod/mini';
import { InvalidReferenceError, parseReference, tagged, type Reference } from '../reference/reference.ts';
import { ApiError, badRequest } from './problem.ts';
import { recordId } from './ids.ts';
import { verifiableDigestProblem } from '../util/digest.ts';
import type { ImageSpec } from '../sync/spec.ts';

const reference = (name: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) })
    .check(z.minLength(1, `${name} must not be empty`), z.maxLength(1024, `${name} is longer than 1024 characters`));

const bodySchema = z.strictObject({ source: reference('source'), destination: reference('destination') });

export interface InputPolicy {
  /** Registries that may be named; undefined: any. */
  allowed?: (registry: string) => boolean;
}

export function parseImageSpec(body: unknown, policy: InputPolicy): ImageSpec {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const detail =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: only "source" and "destination" are accepted`
        : issue.path.length === 0
          ? 'the body must be a JSON object with "source" and "destination"'
          : issue.message;
    throw badRequest('invalid-body', detail);
  }
  const { source, destination } = parsed.data;
  const sourceRef = parse('source', source);
  const destinationRef = parse('destination', destination);
  // The grammar admits algorithms no one can verify a copy against (sha384:, sha256+b64u:).
  const unverifiable = sourceRef.digest === undefined ? undefined : verifiableDigestProblem(sourceRef.digest);
  if (unverifiable) throw badRequest('invalid-source', `source ${JSON.stringify(source)}: ${unverifiable}`);
  const taggedDestination = tagged(destinationRef);
  if (!taggedDestination) throw badRequest('invalid-destination', `destination ${JSON.stringify(destination)} must be a tag, not a digest: the tag is what imagesync keeps current`);
  for (const [role, ref] of [['source', sourceRef], ['destination', destinationRef]] as const) {
    if (policy.allowed && !policy.allowed(ref.registry)) {
      throw new ApiError(403, 'registry-not-allowed', 'Registry not allowed', `${role} registry ${ref.registry} is not in IMAGESYNC_ALLOWED_REGISTRIES`);
    }
  }
  return { id: recordId(taggedDestination), source, destination, sourceRef, destinationRef: taggedDestination };
}

function parse(role: string, value: string): Reference {
  try {
    return parseReference(value);
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw badRequest(`invalid-${role}`, `${role}: ${error.message}`);
    throw error;
  }
}
