// The Terraform module (infra/terraform/modules/imagesync) and its example
// (infra/terraform/examples/busybox), read as Terraform reads them (@cdktf/hcl2json), then
// replayed against the real service with the calls restapi 2.x and 3.x make for those
// settings (./restapi.ts). Terraform itself is not run: the object settings, the force_new
// semantics of each major version and the outputs are derived from the parsed HCL.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_KEYS } from '../../lib/api/record.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { pushImage } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';
import { RestapiProvider, type ObjectSettings, type Version } from './restapi.ts';

// Loaded without its type declarations: they pull TypeScript's DOM library into the whole
// program (`/// <reference lib="dom" />`), whose fetch types clash with Node's.
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(filename: string, contents: string): Promise<Record<string, unknown>> };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULE_DIR = join(ROOT, 'infra/terraform/modules/imagesync');
const EXAMPLE_DIR = join(ROOT, 'infra/terraform/examples/busybox');

// ---------------------------------------------------------------------------------------
// Reading HCL

type Hcl = Record<string, any>;

/** Every .tf file of a directory, merged as Terraform merges a module's files. */
async function parseDir(dir: string): Promise<{ hcl: Hcl; files: string[] }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.tf')).sort();
  let hcl: Hcl = {};
  for (const file of files) hcl = merge(hcl, await parse(file, await readFile(join(dir, file), 'utf8')), file);
  return { hcl, files };
}

function merge(a: unknown, b: unknown, where: string): any {
  if (a === undefined) return b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (isObject(a) && isObject(b)) {
    const out: Hcl = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v, `${where}: ${k}`);
    return out;
  }
  throw new Error(`${where}: defined twice`);
}

const isObject = (v: unknown): v is Hcl => typeof v === 'object' && v !== null && !Array.isArray(v);

/** hcl2json gives every block as a list of bodies; these blocks must appear exactly once. */
function one(blocks: unknown, what: string): Hcl {
  if (!Array.isArray(blocks) || blocks.length !== 1) throw new Error(`expected exactly one ${what}, got ${JSON.stringify(blocks)}`);
  return blocks[0] as Hcl;
}

function onlyName(map: unknown, what: string): string {
  const names = Object.keys(isObject(map) ? map : {});
  if (names.length !== 1) throw new Error(`expected exactly one ${what}, got ${JSON.stringify(names)}`);
  return names[0]!;
}

// A small evaluator for the expressions the module uses, against input variables. Anything
// else throws, so an unanticipated change to the module fails here instead of passing untested.

type Vars = Record<string, string>;

function interpolate(template: string, vars: Vars): string {
  const out = template.replace(/\$\{var\.([A-Za-z_][\w-]*)\}/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`no value for var.${name}`);
    return vars[name]!;
  });
  if (out.includes('${')) throw new Error(`cannot evaluate ${JSON.stringify(template)}`);
  return out;
}

/** `${jsonencode({ key = var.x, other = "literal" })}` with string values. */
function evaluateJsonencode(expression: string, vars: Vars): Record<string, string> {
  const match = /^\$\{jsonencode\(\{([\s\S]*)\}\)\}$/.exec(expression.trim());
  if (!match) throw new Error(`data is not jsonencode({...}): ${expression}`);
  const out: Record<string, string> = {};
  for (const entry of match[1]!.split(/[\n,]/).map((s) => s.trim()).filter(Boolean)) {
    const pair = /^"?([A-Za-z_][\w-]*)"?\s*[=:]\s*(?:var\.([A-Za-z_][\w-]*)|"([^"\\$]*)")$/.exec(entry);
    if (!pair) throw new Error(`cannot evaluate data entry ${JSON.stringify(entry)}`);
    const [, key, varName, literal] = pair;
    if (key! in out) throw new Error(`data key ${key} twice`);
    if (varName !== undefined && !(varName in vars)) throw new Error(`no value for var.${varName}`);
    out[key!] = varName !== undefined ? vars[varName]! : literal!;
  }
  return out;
}

/** `${restapi_object.NAME.ATTR}` or `${try(restapi_object.NAME.api_data["KEY"], ...)}`. */
function outputSource(expression: string): { resource: string; attribute: string; key?: string } {
  const direct = /^\$\{restapi_object\.([\w-]+)\.(\w+)\}$/.exec(expression);
  if (direct) return { resource: direct[1]!, attribute: direct[2]! };
  const mapKey = /^\$\{(?:try\()?restapi_object\.([\w-]+)\.(api_data)\["(\w+)"\](?:,\s*null\))?\}$/.exec(expression);
  if (mapKey) return { resource: mapKey[1]!, attribute: mapKey[2]!, key: mapKey[3]! };
  throw new Error(`cannot evaluate output ${expression}`);
}

/** Terraform's `>= a, < b`-style version constraints (no `~>`: the module does not use it). */
function satisfies(version: string, constraint: string): boolean {
  const num = (v: string) => v.split('.').map(Number);
  const cmp = (x: string, y: string) => {
    const [a, b] = [num(x), num(y)];
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  return constraint.split(',').every((part) => {
    const m = /^\s*(>=|<=|>|<|=|!=)?\s*(\d+(?:\.\d+){0,2})\s*$/.exec(part);
    if (!m) throw new Error(`unsupported constraint ${part}`);
    const c = cmp(version, m[2]!);
    return { '>=': c >= 0, '<=': c <= 0, '>': c > 0, '<': c < 0, '=': c === 0, '!=': c !== 0 }[m[1] ?? '=']!;
  });
}

// The arguments restapi_object accepts in both majors: the 2.0.1 registry schema
// (registry.terraform.io/providers/Mastercard/restapi/2.0.1/docs/resources/object) and the
// 3.x schema (internal/provider/resource_api_object.go), plus Terraform's meta-arguments.
const OBJECT_ARGUMENTS = new Set([
  'path', 'create_path', 'read_path', 'update_path', 'destroy_path', 'create_method', 'read_method', 'update_method',
  'destroy_method', 'id_attribute', 'object_id', 'data', 'debug', 'read_search', 'query_string', 'force_new', 'read_data',
  'update_data', 'destroy_data', 'ignore_changes_to', 'ignore_all_server_changes',
  'count', 'for_each', 'depends_on', 'provider', 'lifecycle',
]);
// Provider arguments of both majors (2.x restapi/provider.go, 3.x internal/provider/provider.go)
// that the example may use. Not `bearer_token` nor `retries`: 3.x only.
const PROVIDER_ARGUMENTS = new Set([
  'uri', 'headers', 'timeout', 'id_attribute', 'create_returns_object', 'write_returns_object', 'insecure', 'debug',
  'copy_keys', 'rate_limit', 'use_cookies', 'alias',
]);

// ---------------------------------------------------------------------------------------
// What the parsed files say

interface Parsed {
  module: Hcl;
  example: Hcl;
  moduleFiles: string[];
  exampleFiles: string[];
  /** The module's one restapi_object. */
  objectName: string;
  object: Hcl;
  /** The example's restapi provider block. */
  provider: Hcl;
}

let parsed: Parsed;

async function readTerraform(): Promise<Parsed> {
  const [{ hcl: module, files: moduleFiles }, { hcl: example, files: exampleFiles }] = await Promise.all([parseDir(MODULE_DIR), parseDir(EXAMPLE_DIR)]);
  const objects = module.resource?.restapi_object;
  const objectName = onlyName(objects, 'restapi_object in the module');
  return {
    module,
    example,
    moduleFiles,
    exampleFiles,
    objectName,
    object: one(objects[objectName], `restapi_object.${objectName}`),
    provider: one(example.provider?.restapi, 'provider "restapi" in the example'),
  };
}

/** force_new evaluated for these inputs. */
const forceNew = (vars: Vars): string[] => (parsed.object.force_new as string[]).map((v) => interpolate(v, vars));

/** What restapi works with for these module inputs: everything taken from the parsed HCL. */
function objectSettings(vars: Vars): ObjectSettings {
  return {
    path: interpolate(parsed.object.path, vars),
    data: evaluateJsonencode(parsed.object.data, vars),
    createReturnsObject: parsed.provider.create_returns_object === true,
    writeReturnsObject: parsed.provider.write_returns_object === true,
    ignoreChangesTo: [...(parsed.object.ignore_changes_to as string[])],
  };
}

/** 3.x getNestedValue (internal/provider/utils.go): a dot-separated path into the data; undefined when absent. */
function nestedValue(data: Record<string, unknown>, path: string): { found: boolean; value?: unknown } {
  const parts = path.split('.');
  let current: unknown = data;
  for (const [i, part] of parts.entries()) {
    if (!isObject(current)) return { found: false };
    if (i === parts.length - 1) return part in current ? { found: true, value: current[part] } : { found: false };
    current = current[part];
  }
  return { found: false };
}

/**
 * Does this change of inputs replace the object?
 * 2.x: force_new is `ForceNew: true` itself (restapi/resource_api_object.go), so any change
 *      of its evaluated values replaces.
 * 3.x: ModifyPlan replaces when a force_new entry names a key present in the prior data
 *      whose planned value prints differently (fmt %v) (internal/provider/resource_api_object.go).
 */
function replaces(version: Version, before: Vars, after: Vars, priorData: Record<string, unknown>): boolean {
  if (version === 2) return JSON.stringify(forceNew(before)) !== JSON.stringify(forceNew(after));
  const planned = evaluateJsonencode(parsed.object.data, after);
  return forceNew(after).some((field) => {
    const prior = nestedValue(priorData, field);
    return prior.found && String(nestedValue(planned, field).value) !== String(prior.value);
  });
}

// ---------------------------------------------------------------------------------------
// 1. The files

beforeAll(async () => {
  parsed = await readTerraform();
});

describe('the module and the example, as Terraform reads them', () => {
  it('has the files the module is made of', () => {
    expect(parsed.moduleFiles).toEqual(['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']);
    expect(existsSync(join(MODULE_DIR, 'README.md'))).toBe(true);
    expect(parsed.exampleFiles).toEqual(expect.arrayContaining(['main.tf', 'versions.tf']));
  });

  it('module: one restapi_object on /v1/images keyed by id, with data { source, destination }', () => {
    const { object } = parsed;
    expect(object.path).toBe('/v1/images');
    expect(object.id_attribute).toBe('id');
    // Only arguments that restapi_object takes in both 2.x and 3.x: create_returns_object,
    // write_returns_object and timeout are provider arguments (the example sets them).
    expect(Object.keys(object).filter((k) => !OBJECT_ARGUMENTS.has(k))).toEqual([]);
    const data = evaluateJsonencode(object.data, { source_image: 'S', destination: 'D' });
    expect(data).toEqual({ source: 'S', destination: 'D' });
    // A module with its own provider block could not be used with count or for_each.
    expect(parsed.module.provider).toBeUndefined();
  });

  it('module: ignore_changes_to is exactly the keys the server adds', () => {
    expect(parsed.object.ignore_changes_to).toEqual([...SERVER_KEYS]);
  });

  it('module: force_new replaces on a new destination under both readings, and never on a new source', () => {
    const list = parsed.object.force_new as string[];
    expect(list).toContain('destination');
    expect(list.some((v) => v.includes('${var.destination}'))).toBe(true);
    const a = { source_image: 'registry.example/team/app:1', destination: 'gcr.io/p/app:1' };
    const newSource = { ...a, source_image: 'registry.example/team/app:2' };
    const shortNames = { source_image: 'busybox', destination: 'destination' }; // short names are references too
    for (const version of [2, 3] as Version[]) {
      for (const before of [a, shortNames]) {
        const prior = evaluateJsonencode(parsed.object.data, before);
        expect(replaces(version, before, { ...before, destination: `${before.destination}-b` }, prior), `${version}.x new destination`).toBe(true);
        expect(replaces(version, before, before, prior), `${version}.x no change`).toBe(false);
      }
      expect(replaces(version, a, newSource, evaluateJsonencode(parsed.object.data, a)), `${version}.x new source`).toBe(false);
    }
    // 3.x reads the entries as keys of data: only "destination" names one, whatever the inputs.
    for (const vars of [a, shortNames, { source_image: 'x', destination: 'source' }]) {
      const data = evaluateJsonencode(parsed.object.data, vars);
      expect(forceNew(vars).filter((f) => nestedValue(data, f).found)).toEqual(['destination']);
    }
  });

  it('module: the variables source_image and destination, required strings with descriptions and validation', () => {
    const variables = parsed.module.variable as Hcl;
    expect(Object.keys(variables).sort()).toEqual(['destination', 'source_image']);
    for (const name of ['source_image', 'destination']) {
      const v = one(variables[name], `variable ${name}`);
      expect(v.type).toBe('${string}');
      expect(v.default, `${name} has no default`).toBeUndefined();
      expect(String(v.description).length).toBeGreaterThan(20);
      const validation = one(v.validation, `validation of ${name}`);
      expect(validation.condition).toContain(`var.${name}`);
      expect(validation.condition).toContain('://'); // no scheme
      expect(validation.error_message).toMatch(/^[A-Z].*\.$/);
    }
    // A destination is a tag (docs/api.md): no digest.
    expect(one(variables.destination, 'variable destination').validation[0].condition).toContain('"@"');
  });

  it('module: outputs id and image, the image from api_data', () => {
    const outputs = parsed.module.output as Hcl;
    expect(Object.keys(outputs).sort()).toEqual(['id', 'image']);
    expect(outputSource(one(outputs.id, 'output id').value)).toEqual({ resource: parsed.objectName, attribute: 'id' });
    const image = one(outputs.image, 'output image');
    expect(outputSource(image.value)).toEqual({ resource: parsed.objectName, attribute: 'api_data', key: 'image' });
    expect(image.description).toMatch(/digest/);
    // While the first copy is still running there is no image: a clear error, not a null image.
    expect(one(image.precondition, 'precondition of output image').condition).toContain('api_data["image"]');
  });

  it('module and example: restapi from Mastercard/restapi, 2.x or 3.x', () => {
    for (const [what, hcl] of [['module', parsed.module], ['example', parsed.example]] as const) {
      const terraform = one(hcl.terraform, `terraform block in the ${what}`);
      const restapi = one(terraform.required_providers, 'required_providers').restapi;
      expect(restapi.source, what).toBe('Mastercard/restapi');
      expect(restapi.version, what).toBe('>= 2.0.0, < 4.0.0');
      for (const ok of ['2.0.0', '2.0.1', '3.0.0', '3.9.9']) expect(satisfies(ok, restapi.version), `${what} admits ${ok}`).toBe(true);
      for (const no of ['1.20.0', '4.0.0']) expect(satisfies(no, restapi.version), `${what} refuses ${no}`).toBe(false);
      expect(satisfies('1.2.0', terraform.required_version), `${what} required_version`).toBe(true);
    }
  });

  it('example: the restapi provider with the URL from a variable, a sensitive bearer token, a long timeout', () => {
    const { provider, example } = parsed;
    expect(Object.keys(provider).filter((k) => !PROVIDER_ARGUMENTS.has(k)), 'arguments 2.x and 3.x both take').toEqual([]);
    const variables = example.variable as Hcl;

    const uriVar = /^\$\{var\.(\w+)\}$/.exec(provider.uri)?.[1];
    expect(uriVar, 'uri from a variable').toBeDefined();
    expect(variables[uriVar!]).toBeDefined();

    const auth = /^Bearer \$\{var\.(\w+)\}$/.exec(provider.headers?.Authorization ?? '')?.[1];
    expect(auth, 'headers = { Authorization = "Bearer ${var...}" }').toBeDefined();
    const token = one(variables[auth!], `variable ${auth}`);
    expect(token.sensitive).toBe(true);
    expect(token.default, 'no token in the code').toBeUndefined();

    expect(provider.create_returns_object).toBe(true);
    expect(typeof provider.write_returns_object === 'boolean' || provider.write_returns_object === undefined).toBe(true);
    // 3.x cuts requests at 60 s by default: the timeout must outlast the service's request
    // budget (after which it answers 202), with room to spare for a large copy.
    expect(provider.timeout).toBeGreaterThanOrEqual(900);
    expect(provider.timeout * 1000).toBeGreaterThan(readSettings({ IMAGESYNC_API_TOKEN: 'x' }).requestBudgetMs);
    expect(provider.bearer_token).toBeUndefined();
    expect(provider.retries).toBeUndefined();

    one(example.provider?.kubernetes, 'provider "kubernetes"');
    const kubernetes = one(one(example.terraform, 'terraform').required_providers, 'required_providers').kubernetes;
    expect(kubernetes.source).toBe('hashicorp/kubernetes');
  });

  it("example: the seed's busybox mirror feeds the deployment's container image by digest", () => {
    const { example, module } = parsed;
    const moduleName = onlyName(example.module, 'module in the example');
    expect(moduleName).toBe('busybox_1_32');
    const call = one(example.module[moduleName], `module ${moduleName}`);
    expect(resolve(EXAMPLE_DIR, call.source)).toBe(resolve(MODULE_DIR));
    expect(call.source_image).toBe('registry.hub.docker.com/library/busybox:1.32');
    expect(call.destination).toBe('gcr.io/my-private-registry/busybox:1.32');
    // Every argument is a variable of the module, and every required variable is given.
    const moduleVariables = module.variable as Hcl;
    const args = Object.keys(call).filter((k) => !['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(k));
    expect(args.sort()).toEqual(Object.keys(moduleVariables).filter((v) => moduleVariables[v][0].default === undefined).sort());

    const deployments = example.resource?.kubernetes_deployment;
    const deployment = one(deployments[onlyName(deployments, 'kubernetes_deployment')], 'kubernetes_deployment');
    const podSpec = one(one(one(deployment.spec, 'spec').template, 'template').spec, 'pod spec');
    const container = one(podSpec.container, 'container');
    expect(container.image).toBe(`\${module.${moduleName}.image}`);
  });
});

// ---------------------------------------------------------------------------------------
// 2. The same settings against the real service

let source: RunningRegistry;
let destination: RunningRegistry;
let api: RunningApi;

describe('the module replayed through restapi against the service', () => {
  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    api = await startApi();
  });
  afterAll(async () => {
    await api?.stop();
    await Promise.all([source?.stop(), destination?.stop()]);
  });

  interface State {
    id: string;
    vars: Vars;
    apiData: Record<string, unknown>;
  }

  type Action = 'no-op' | 'update' | 'replace' | 'create';

  /** terraform plan: refresh (GET), then compare the configuration with what was read. */
  async function plan(tf: RestapiProvider, state: State, vars: Vars): Promise<{ action: Action; drift: string[]; refreshed?: Record<string, unknown> }> {
    const refreshed = await tf.read(objectSettings(state.vars), state.id);
    if (!refreshed) return { action: 'create', drift: [] }; // 2.x drops a 404 from state
    const drift = tf.drift(objectSettings(vars), refreshed);
    const action = replaces(tf.version, state.vars, vars, refreshed) ? 'replace' : drift.length > 0 ? 'update' : 'no-op';
    return { action, drift, refreshed };
  }

  /** terraform apply of a plan. */
  async function apply(tf: RestapiProvider, state: State | undefined, vars: Vars): Promise<State> {
    const next = objectSettings(vars);
    if (!state) {
      const { id, apiData } = await tf.create(next);
      return { id, vars, apiData };
    }
    const planned = await plan(tf, state, vars);
    switch (planned.action) {
      case 'no-op':
        return { ...state, apiData: planned.refreshed! };
      case 'update':
        return { id: state.id, vars, apiData: await tf.update(next, state.id) };
      case 'replace': {
        await tf.destroy(objectSettings(state.vars), state.id);
        const { id, apiData } = await tf.create(next);
        return { id, vars, apiData };
      }
      case 'create': {
        const { id, apiData } = await tf.create(next);
        return { id, vars, apiData };
      }
    }
  }

  /** The module's outputs, as the output expressions read the state. */
  function outputs(state: State): { id: unknown; image: unknown } {
    const outs = parsed.module.output as Hcl;
    const read = (name: string) => {
      const ref = outputSource(one(outs[name], `output ${name}`).value);
      expect(ref.resource).toBe(parsed.objectName);
      if (ref.attribute === 'id') return state.id;
      if (ref.attribute === 'api_data' && ref.key) return state.apiData[ref.key];
      throw new Error(`output ${name}: unsupported ${JSON.stringify(ref)}`);
    };
    return { id: read('id'), image: read('image') };
  }

  const methods = (tf: RestapiProvider, from: number) => tf.calls.slice(from).map((c) => `${c.method} ${c.status}`);

  describe.each([2, 3] as Version[])('restapi %i.x', (version) => {
    it('applies, shows no drift, updates a new source in place, replaces a new destination, destroys', async () => {
      const repo = `tfmodule${version}/busybox`;
      const [v132, v133] = [
        await pushImage(source, repo, '1.32', { format: 'docker', layers: 2 }),
        await pushImage(source, repo, '1.33', { format: 'oci', layers: 1 }),
      ];
      expect(v132.digest).not.toBe(v133.digest);
      const tf = new RestapiProvider(version, `${api.url}/`, api.token);
      const vars1 = { source_image: `${source.host}/${repo}:1.32`, destination: `${destination.host}/${repo}:stable` };

      // terraform apply: one POST (create_returns_object: no GET), the id and the record in state.
      let state = await apply(tf, undefined, vars1);
      expect(methods(tf, 0)).toEqual(['POST 201']);
      expect(state.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(state.apiData[parsed.object.id_attribute]).toBe(state.id);
      expect(outputs(state)).toEqual({ id: state.id, image: `${destination.host}/${repo}@${v132.digest}` });
      // api_data holds strings: `image` is a flat string field.
      expect(typeof state.apiData.image).toBe('string');
      expect((await headManifest(destination, repo, 'stable')).digestHeader).toBe(v132.digest);

      // The next plan: refresh only, nothing to change.
      let mark = tf.calls.length;
      let planned = await plan(tf, state, vars1);
      expect(planned).toMatchObject({ action: 'no-op', drift: [] });
      expect(methods(tf, mark)).toEqual(Array(version === 2 ? 2 : 1).fill('GET 200'));

      // A new source_image: an in-place update (PUT of the whole data), the tag moves.
      const vars2 = { ...vars1, source_image: `${source.host}/${repo}:1.33` };
      planned = await plan(tf, state, vars2);
      expect(planned).toMatchObject({ action: 'update', drift: ['source'] });
      mark = tf.calls.length;
      const before = state.id;
      state = await apply(tf, state, vars2);
      expect(tf.calls.slice(mark).map((c) => c.method).filter((m) => m !== 'GET')).toEqual(['PUT']);
      expect(state.id).toBe(before);
      expect(outputs(state).image).toBe(`${destination.host}/${repo}@${v133.digest}`);
      expect((await headManifest(destination, repo, 'stable')).digestHeader).toBe(v133.digest);
      expect(await plan(tf, state, vars2)).toMatchObject({ action: 'no-op', drift: [] });

      // A new destination: force_new replaces it, DELETE then POST; the old tag goes.
      const vars3 = { ...vars2, destination: `${destination.host}/${repo}:pinned` };
      planned = await plan(tf, state, vars3);
      expect(planned).toMatchObject({ action: 'replace', drift: ['destination'] });
      mark = tf.calls.length;
      const replaced = state.id;
      state = await apply(tf, state, vars3);
      expect(tf.calls.slice(mark).map((c) => c.method).filter((m) => m !== 'GET')).toEqual(['DELETE', 'POST']);
      expect(methods(tf, mark).slice(-2)).toEqual(['DELETE 204', 'POST 201']);
      expect(state.id).not.toBe(replaced);
      expect(outputs(state).image).toBe(`${destination.host}/${repo}@${v133.digest}`);
      expect((await headManifest(destination, repo, 'stable')).status).toBe(404);
      expect((await headManifest(destination, repo, 'pinned')).digestHeader).toBe(v133.digest);
      expect(await plan(tf, state, vars3)).toMatchObject({ action: 'no-op', drift: [] });

      // terraform destroy: DELETE; the record and the tag are gone, a refresh reads 404
      // (which 2.x turns into a planned create).
      mark = tf.calls.length;
      await tf.destroy(objectSettings(state.vars), state.id);
      expect(methods(tf, mark)).toEqual(['DELETE 204']);
      expect((await headManifest(destination, repo, 'pinned')).status).toBe(404);
      mark = tf.calls.length;
      expect(await tf.read(objectSettings(state.vars), state.id)).toBeUndefined();
      expect(methods(tf, mark)).toEqual(['GET 404']);
    });
  });
});
