/**
 * A small OCSF validator that reads the schema files themselves (`../shared/ocsf-schema-1.8.0/`,
 * verbatim), so findings are checked against OCSF rather than against our own idea of it.
 *
 * What it resolves, the way the OCSF schema server compiles classes: a class through its `extends`
 * chain (compliance_finding → finding → base_event), `$include`d profile attributes (gated by the
 * profiles an event declares in `metadata.profiles`), each attribute merged over its dictionary entry
 * (so enums are the dictionary's plus the class's), objects through their own `extends` and includes,
 * and the computed classification values (`class_uid` = category × 1000 + class, `type_uid` =
 * class × 100 + activity).
 *
 * What it checks: required attributes (profile-gated ones only when the profile is declared), that
 * every attribute name is defined for the class/object, scalar types (with the types' regexes and
 * arrays), enum values, captions of enum siblings (`status` for `status_id`… except for 99 Other),
 * and object constraints (`at_least_one`, `just_one`). Any class validates the same way (by its name:
 * `compliance_finding`, `api_activity`…); attributes of OCSF's open `object` type (`unmapped`) are free-form.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const OCSF_SCHEMA_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'ocsf-schema-1.8.0');

type Json = Record<string, unknown>;
interface AttributeDef {
  readonly type?: string;
  readonly is_array?: boolean;
  readonly requirement?: string;
  readonly enum?: Record<string, { caption?: string }>;
  readonly sibling?: string;
  readonly profile?: string | null;
}
interface ResolvedType {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, AttributeDef>;
  readonly constraints: { at_least_one?: string[]; just_one?: string[] } | undefined;
}

const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (entry.endsWith('.json')) out.push(path);
  }
  return out;
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where `over` wins, maps merged key by key (so enum entries add up). */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

export interface OcsfIssue {
  readonly path: string;
  readonly message: string;
}

export class OcsfSchema {
  private readonly dictionary: Json;
  private readonly types: Json;
  private readonly events = new Map<string, Json>();
  private readonly objects = new Map<string, Json>();
  private readonly categories: Json;
  private readonly resolvedObjects = new Map<string, ResolvedType>();

  constructor(readonly dir: string = OCSF_SCHEMA_DIR) {
    const dictionary = readJson(join(dir, 'dictionary.json'));
    this.dictionary = dictionary['attributes'] as Json;
    this.types = (dictionary['types'] as Json)['attributes'] as Json;
    this.categories = readJson(join(dir, 'categories.json'))['attributes'] as Json;
    for (const file of filesUnder(join(dir, 'events'))) {
      const j = readJson(file);
      if (typeof j['name'] === 'string') this.events.set(j['name'], j);
    }
    for (const file of filesUnder(join(dir, 'objects'))) {
      const j = readJson(file);
      if (typeof j['name'] === 'string') this.objects.set(j['name'], j);
    }
  }

  /** Attributes of a class or object definition with its `extends` chain and `$include`s applied. */
  private resolveAttributes(def: Json, lookup: (name: string) => Json | undefined): Map<string, Json> {
    const parentName = def['extends'];
    const inherited = typeof parentName === 'string' ? this.resolveAttributes(lookup(parentName) ?? fail(`unknown parent ${parentName}`), lookup) : new Map<string, Json>();
    const own = (def['attributes'] ?? {}) as Json;
    const includes = Array.isArray(own['$include']) ? (own['$include'] as string[]) : [];
    for (const include of includes) {
      const inc = readJson(join(this.dir, include));
      const profile = inc['meta'] === 'profile' ? (inc['name'] as string) : undefined;
      for (const [name, attr] of Object.entries((inc['attributes'] ?? {}) as Json)) {
        const withProfile = profile !== undefined ? { ...(attr as Json), profile } : (attr as Json);
        inherited.set(name, deepMerge(inherited.get(name) ?? {}, withProfile) as Json);
      }
    }
    for (const [name, attr] of Object.entries(own)) {
      if (name === '$include') continue;
      inherited.set(name, deepMerge(inherited.get(name) ?? {}, attr) as Json);
    }
    return inherited;
  }

  private finish(name: string, attrs: Map<string, Json>, constraints: unknown): ResolvedType {
    const resolved = new Map<string, AttributeDef>();
    for (const [attr, def] of attrs) {
      const dict = this.dictionary[attr];
      if (dict === undefined) throw new Error(`${name}.${attr} is not in the dictionary`);
      resolved.set(attr, deepMerge(dict, def) as AttributeDef);
    }
    return { name, attributes: resolved, constraints: constraints as ResolvedType['constraints'] };
  }

  objectType(name: string): ResolvedType {
    let t = this.resolvedObjects.get(name);
    if (t === undefined) {
      const def = this.objects.get(name) ?? fail(`unknown object ${name}`);
      t = this.finish(name, this.resolveAttributes(def, (n) => this.objects.get(n)), def['constraints']);
      this.resolvedObjects.set(name, t);
    }
    return t;
  }

  /** The class with its computed classification: category uid, class uid and the type_uid captions. */
  eventClass(name: string): ResolvedType & { readonly classUid: number; readonly categoryUid: number; readonly caption: string } {
    const def = this.events.get(name) ?? fail(`unknown class ${name}`);
    let categoryName: unknown;
    for (let d: Json | undefined = def; d !== undefined && categoryName === undefined; d = typeof d['extends'] === 'string' ? this.events.get(d['extends']) : undefined) categoryName = d['category'];
    const category = this.categories[categoryName as string] as { uid: number; caption: string } | undefined;
    if (category === undefined || typeof def['uid'] !== 'number') throw new Error(`class ${name} has no category/uid`);
    const classUid = category.uid * 1000 + def['uid'];
    const attrs = this.resolveAttributes(def, (n) => this.events.get(n));
    const caption = def['caption'] as string;
    const activity = deepMerge(this.dictionary['activity_id'], attrs.get('activity_id') ?? {}) as AttributeDef;
    const typeEnum: Record<string, { caption: string }> = {};
    for (const [id, e] of Object.entries(activity.enum ?? {})) typeEnum[String(classUid * 100 + Number(id))] = { caption: `${caption}: ${e.caption ?? ''}` };
    attrs.set('class_uid', { ...(attrs.get('class_uid') ?? {}), enum: { [String(classUid)]: { caption } } });
    attrs.set('category_uid', { ...(attrs.get('category_uid') ?? {}), enum: { [String(category.uid)]: { caption: category.caption } } });
    attrs.set('type_uid', { ...(attrs.get('type_uid') ?? {}), enum: typeEnum });
    const resolved = this.finish(name, attrs, def['constraints']);
    // The class's own enums replace the base event's placeholder ones (0 Base Event, 0 Uncategorized).
    const fixed = new Map(resolved.attributes);
    for (const key of ['class_uid', 'category_uid', 'type_uid']) fixed.set(key, { ...(fixed.get(key) as AttributeDef), enum: attrs.get(key)?.['enum'] as AttributeDef['enum'] });
    return { ...resolved, attributes: fixed, classUid, categoryUid: category.uid, caption };
  }

  /** Every problem of `event` as an instance of the class `className`; empty when valid. */
  validate(event: unknown, className: string): OcsfIssue[] {
    const issues: OcsfIssue[] = [];
    const cls = this.eventClass(className);
    if (!isPlainObject(event)) return [{ path: '$', message: 'not an object' }];
    const metadata = event['metadata'];
    const declared = isPlainObject(metadata) && Array.isArray(metadata['profiles']) ? new Set((metadata['profiles'] as unknown[]).filter((p): p is string => typeof p === 'string')) : new Set<string>();
    for (const p of declared) if (!existsProfile(this.dir, p)) issues.push({ path: '$.metadata.profiles', message: `unknown profile ${p}` });
    this.checkObject(event, cls, '$', declared, issues);
    return issues;
  }

  private checkObject(value: Json, type: ResolvedType, path: string, profiles: ReadonlySet<string>, issues: OcsfIssue[]): void {
    const applies = (def: AttributeDef): boolean => def.profile === undefined || def.profile === null || profiles.has(def.profile);
    for (const [name, def] of type.attributes) {
      if (def.requirement === 'required' && applies(def) && (value[name] === undefined || value[name] === null)) issues.push({ path: `${path}.${name}`, message: `required attribute missing (${type.name})` });
    }
    for (const [name, v] of Object.entries(value)) {
      const def = type.attributes.get(name);
      if (def === undefined) {
        issues.push({ path: `${path}.${name}`, message: `not an attribute of ${type.name}` });
        continue;
      }
      if (!applies(def)) issues.push({ path: `${path}.${name}`, message: `belongs to profile ${def.profile ?? ''}, not declared in metadata.profiles` });
      this.checkValue(v, def, `${path}.${name}`, profiles, issues);
    }
    for (const [name, def] of type.attributes) {
      const sibling = def.sibling;
      if (def.enum === undefined || sibling === undefined || value[name] === undefined || value[sibling] === undefined) continue;
      const id = String(value[name]);
      if (id === '99') continue;
      const caption = def.enum[id]?.caption;
      if (caption !== undefined && value[sibling] !== caption) issues.push({ path: `${path}.${sibling}`, message: `"${String(value[sibling])}" is not the caption of ${name} ${id} ("${caption}")` });
    }
    const atLeastOne = type.constraints?.at_least_one;
    if (atLeastOne !== undefined && !atLeastOne.some((a) => value[a] !== undefined)) issues.push({ path, message: `${type.name} needs at least one of ${atLeastOne.join(', ')}` });
    const justOne = type.constraints?.just_one;
    if (justOne !== undefined && justOne.filter((a) => value[a] !== undefined).length !== 1) issues.push({ path, message: `${type.name} needs exactly one of ${justOne.join(', ')}` });
  }

  private checkValue(v: unknown, def: AttributeDef, path: string, profiles: ReadonlySet<string>, issues: OcsfIssue[]): void {
    if (def.is_array === true) {
      if (!Array.isArray(v)) {
        issues.push({ path, message: 'expected an array' });
        return;
      }
      v.forEach((item, i) => this.checkValue(item, { ...def, is_array: false }, `${path}[${i}]`, profiles, issues));
      return;
    }
    const typeName = def.type ?? 'json_t';
    if (!typeName.endsWith('_t')) {
      if (!isPlainObject(v)) {
        issues.push({ path, message: `expected a ${typeName} object` });
        return;
      }
      // `object` is OCSF's open object (e.g. `unmapped`): any source-specific attributes.
      if (typeName === 'object') return;
      this.checkObject(v, this.objectType(typeName), path, profiles, issues);
      return;
    }
    if (!this.scalarOk(v, typeName)) issues.push({ path, message: `not a valid ${typeName}: ${JSON.stringify(v)}` });
    if (def.enum !== undefined && (typeof v === 'number' || typeof v === 'string') && def.enum[String(v)] === undefined) {
      issues.push({ path, message: `${JSON.stringify(v)} is not one of ${Object.keys(def.enum).join(', ')}` });
    }
  }

  private scalarOk(v: unknown, typeName: string): boolean {
    switch (typeName) {
      case 'json_t':
        return true;
      case 'string_t':
        return typeof v === 'string';
      case 'integer_t':
      case 'long_t':
      case 'timestamp_t':
        return typeof v === 'number' && Number.isInteger(v);
      case 'float_t':
        return typeof v === 'number';
      case 'boolean_t':
        return typeof v === 'boolean';
      default: {
        const t = this.types[typeName] as { type?: string; regex?: string } | undefined;
        if (t === undefined) return false;
        if (t.type !== undefined && !this.scalarOk(v, t.type)) return false;
        return t.regex === undefined || typeof v !== 'string' || new RegExp(t.regex).test(v);
      }
    }
  }
}

function existsProfile(dir: string, name: string): boolean {
  try {
    return statSync(join(dir, 'profiles', `${name}.json`)).isFile();
  } catch {
    return false;
  }
}

function fail(message: string): never {
  throw new Error(message);
}
