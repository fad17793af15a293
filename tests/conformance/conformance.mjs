// Checks HTTP exchanges against the OpenAPI document: each response's status must be listed for
// its path and method (or be the document's answer to an unlisted path or method), its required
// headers present and every described header valid, its Content-Type one the document lists,
// and its body valid against that schema (JSON Schema 2020-12, by Ajv). Anything else is a
// failure: the document must describe every response the service sends.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tools/package.json', import.meta.url));
const yaml = require('js-yaml');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

// The document with every local $ref replaced by what it points at (siblings of a $ref kept, as
// OpenAPI 3.1 allows). The document has no recursive schemas.
function dereference(doc) {
  const at = (pointer) => pointer.slice(2).split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node, key) => {
      if (node?.[key] === undefined) throw new Error(`unresolved $ref #/${pointer}`);
      return node[key];
    }, doc);
  const walk = (node, depth) => {
    if (depth > 64) throw new Error('$ref cycle');
    if (Array.isArray(node)) return node.map((n) => walk(n, depth + 1));
    if (node === null || typeof node !== 'object') return node;
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
      const { $ref, ...siblings } = node;
      return { ...walk(at($ref), depth + 1), ...walk(siblings, depth + 1) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, depth + 1)]));
  };
  return walk(doc, 0);
}

export function loadDocument(file) {
  const doc = dereference(yaml.load(readFileSync(file, 'utf8'), { schema: yaml.JSON_SCHEMA }));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const compiled = new Map();
  const validator = (schema) => {
    if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
    return compiled.get(schema);
  };
  // Templated paths (/assets/{file}) become patterns; a parameter is one path segment.
  // A path matches a template only with parameters its schemas accept (/assets/{file} lists its
  // files): any other is a path the document does not list.
  const paths = Object.entries(doc.paths).map(([template, item]) => {
    const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const pattern = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)') + '$');
    const parameters = Object.values(item).flatMap((op) => op.parameters ?? []).filter((p) => p.in === 'path');
    const matches = (path) => {
      const m = pattern.exec(path);
      return m !== null && names.every((name, i) => parameters.filter((p) => p.name === name)
        .every((p) => validator(p.schema ?? {})(m[i + 1])));
    };
    return { template, item, matches };
  });
  return { doc, paths, validator };
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const describe = (ajvErrors) => ajvErrors.map((e) => `${e.instancePath || '(body)'} ${e.message}` +
  (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '')).join('; ');

// The problems with one exchange ({method, target, status, headers (lower-case names), body}),
// an empty list when the document describes it.
export function check(api, exchange) {
  const problems = [];
  const { method, target, status, headers, body } = exchange;
  const path = decodeURI(target.split('?')[0]);
  const matched = api.paths.find((p) => p.matches(path));
  let response;
  let where;
  if (!matched) {
    response = api.doc['x-unlisted-path-response'];
    where = `unlisted path ${path}`;
    if (status !== 404) return [`${method} ${target}: status ${status} for a path the document does not list`];
  } else if (!methods.includes(method.toLowerCase()) || !matched.item[method.toLowerCase()]) {
    response = api.doc['x-unlisted-method-response'];
    where = `${method} ${matched.template} (unlisted method)`;
    if (status !== 405) return [`${method} ${target}: status ${status} for a method ${matched.template} does not list`];
  } else {
    const operation = matched.item[method.toLowerCase()];
    where = `${method} ${matched.template}`;
    response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response) {
      return [`${where}: status ${status} is not among its responses (${Object.keys(operation.responses).join(', ')}); body ${body.slice(0, 200)}`];
    }
  }
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) problems.push(`${where} ${status}: header ${name} missing`);
      continue;
    }
    const valid = api.validator(header.schema ?? {});
    if (!valid(value)) problems.push(`${where} ${status}: header ${name}: '${value}' ${describe(valid.errors)}`);
  }
  const isHead = method.toUpperCase() === 'HEAD';
  if (!response.content) {
    if (body.length > 0) problems.push(`${where} ${status}: a body where the document describes none: ${body.slice(0, 200)}`);
    return problems;
  }
  const contentType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const media = response.content[contentType];
  if (!media) {
    problems.push(`${where} ${status}: Content-Type '${headers['content-type']}' is not among ${Object.keys(response.content).join(', ')}`);
    return problems;
  }
  if (isHead) return problems;
  let value = body;
  if (contentType === 'application/json') {
    try {
      value = JSON.parse(body);
    } catch {
      problems.push(`${where} ${status}: the body is not JSON: ${body.slice(0, 200)}`);
      return problems;
    }
  }
  const valid = api.validator(media.schema ?? {});
  if (!valid(value)) {
    problems.push(`${where} ${status}: ${describe(valid.errors)}; body ${body.slice(0, 300)}`);
  }
  return problems;
}
