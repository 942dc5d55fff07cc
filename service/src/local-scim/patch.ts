/**
 * Resource shape (canonical attribute names, type checks) and PATCH (RFC 7644 §3.5.2): `add`, `remove`
 * and `replace`, with or without a path, a path being an attribute, a sub-attribute, or a multi-valued
 * attribute with a value filter (`members[value eq "…"]`, `emails[type eq "work"].value`).
 */
import { invalidPath, invalidSyntax, invalidValue, noTarget, ScimError } from './errors';
import { matches, parseValueFilter, type Filter } from './filter';
import {
    containerOf,
    findDef,
    keyOf,
    parseAttrPath,
    PATCH_OP,
    PathError,
    type AttributeDef,
    type AttrPath,
    type ResourceSchema
} from './schemas';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Renames keys to the schema's spelling (attribute names are case-insensitive, RFC 7643 §2.1). */
function canonicalValue(value: unknown, def: AttributeDef | undefined): unknown {
    if (!def || def.type !== 'complex') return value;
    const one = (v: unknown): unknown => (isObj(v) ? canonicalObject(v, def.subAttributes ?? []) : v);
    return Array.isArray(value) ? value.map(one) : one(value);
}

function canonicalObject(obj: Obj, defs: readonly AttributeDef[]): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(obj)) {
        const def = findDef(defs, k);
        out[def?.name ?? k] = canonicalValue(v, def);
    }
    return out;
}

/** The resource with canonical keys: core attributes, extension objects under their exact URI. */
export function canonicalResource(body: Obj, rs: ResourceSchema): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(body)) {
        const ext = [...rs.extensions.keys()].find((u) => u.toLowerCase() === k.toLowerCase());
        if (ext) {
            out[ext] = isObj(v) ? canonicalObject(v, rs.extensions.get(ext) ?? []) : v;
            continue;
        }
        const def = findDef(rs.attributes, k);
        out[def?.name ?? k] = canonicalValue(v, def);
    }
    return out;
}

function checkValue(value: unknown, def: AttributeDef, where: string): void {
    if (value === null || value === undefined) return;
    if (def.multiValued) {
        if (!Array.isArray(value)) throw invalidValue(`${where} is multi-valued: it takes an array`);
        for (const v of value) checkSingle(v, def, where);
        return;
    }
    if (Array.isArray(value)) throw invalidValue(`${where} is single-valued: it takes no array`);
    checkSingle(value, def, where);
}

function checkSingle(value: unknown, def: AttributeDef, where: string): void {
    if (value === null) return;
    switch (def.type) {
        case 'string':
        case 'reference':
            if (typeof value !== 'string') throw invalidValue(`${where} must be a string`);
            return;
        case 'dateTime':
            if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
                throw invalidValue(`${where} must be an xsd:dateTime string`);
            return;
        case 'boolean':
            if (typeof value !== 'boolean') throw invalidValue(`${where} must be true or false`);
            return;
        case 'integer':
            if (!Number.isInteger(value)) throw invalidValue(`${where} must be an integer`);
            return;
        case 'decimal':
            if (typeof value !== 'number') throw invalidValue(`${where} must be a number`);
            return;
        case 'complex':
            if (!isObj(value)) throw invalidValue(`${where} must be an object`);
            for (const sub of def.subAttributes ?? []) {
                if (sub.mutability === 'readOnly') continue;
                checkValue(value[sub.name], sub, `${where}.${sub.name}`);
            }
    }
}

/** Type checks the known attributes and the required ones (RFC 7643 §2.2, §7 "required"). */
export function checkResource(resource: Obj, rs: ResourceSchema): void {
    for (const def of rs.attributes) {
        if (def.mutability === 'readOnly') continue;
        const v = resource[def.name];
        if (def.required && (v === undefined || v === null || v === ''))
            throw invalidValue(`${def.name} is required`);
        checkValue(v, def, def.name);
    }
    for (const [uri, defs] of rs.extensions) {
        const ext = resource[uri];
        if (ext === undefined || ext === null) continue;
        if (!isObj(ext)) throw invalidValue(`${uri} must be an object`);
        for (const def of defs)
            if (def.mutability !== 'readOnly') checkValue(ext[def.name], def, `${uri}:${def.name}`);
    }
}

/** Removes what a client may not set (readOnly attributes: id, meta, groups): RFC 7643 §2.2 says ignore them. */
export function stripReadOnly(resource: Obj, rs: ResourceSchema): void {
    for (const def of rs.attributes) if (def.mutability === 'readOnly') delete resource[def.name];
}

interface PatchPath {
    attr: AttrPath;
    def?: AttributeDef;
    filter?: Filter;
    /** The sub-attribute after a value filter: `emails[type eq "work"].value`. */
    subAfterFilter?: string;
}

function parsePatchPath(text: string, rs: ResourceSchema): PatchPath {
    try {
        const open = text.indexOf('[');
        let attr: AttrPath;
        let filter: Filter | undefined;
        let subAfterFilter: string | undefined;
        if (open >= 0) {
            const close = text.lastIndexOf(']');
            if (close < open) throw invalidPath(`"${text}": "[" without "]"`);
            attr = parseAttrPath(text.slice(0, open), rs);
            if (attr.subAttribute) throw invalidPath(`"${text}": a value filter follows an attribute`);
            const rest = text.slice(close + 1);
            if (rest !== '') {
                const m = /^\.([A-Za-z$][\w$-]*)$/.exec(rest);
                if (!m) throw invalidPath(`"${text}": unexpected "${rest}" after the value filter`);
                subAfterFilter = m[1];
            }
            const def = defOf(attr, rs);
            if (def && !def.multiValued) throw invalidPath(`"${text}": ${def.name} is not multi-valued`);
            filter = parseValueFilter(text.slice(open + 1, close), rs, def);
        } else {
            attr = parseAttrPath(text, rs);
        }
        return { attr, def: defOf(attr, rs), filter, subAfterFilter };
    } catch (e) {
        if (e instanceof PathError) throw invalidPath(e.message);
        if (e instanceof ScimError && e.scimType === 'invalidFilter')
            throw invalidPath(`"${text}": ${e.message}`);
        throw e;
    }
}

function defOf(attr: AttrPath, rs: ResourceSchema): AttributeDef | undefined {
    return findDef(attr.extension ? rs.extensions.get(attr.extension) : rs.attributes, attr.attribute);
}

function sameValue(a: unknown, b: unknown): boolean {
    if (isObj(a) && isObj(b) && 'value' in a && 'value' in b) return a.value === b.value;
    return JSON.stringify(a) === JSON.stringify(b);
}

/** Appends values to a multi-valued attribute; a value already there is not added twice (§3.5.2.1). */
function appendValues(container: Obj, key: string, values: unknown[]): void {
    const current = Array.isArray(container[key]) ? (container[key] as unknown[]) : [];
    const byValue = new Set<unknown>();
    for (const c of current) if (isObj(c) && 'value' in c) byValue.add(c.value);
    const out = [...current];
    for (const v of values) {
        if (isObj(v) && 'value' in v) {
            if (byValue.has(v.value)) continue;
            byValue.add(v.value);
            out.push(v);
        } else if (!out.some((c) => sameValue(c, v))) {
            out.push(v);
        }
    }
    container[key] = out;
}

/** Elements with the filter's `eq` conditions as attributes: what `add` makes when a value filter matches nothing. */
function elementFromFilter(filter: Filter): Obj {
    if (filter.kind === 'compare' && filter.op === 'eq' && !filter.path.subAttribute)
        return { [filter.path.attribute]: filter.value };
    if (filter.kind === 'and')
        return { ...elementFromFilter(filter.left), ...elementFromFilter(filter.right) };
    throw noTarget('no value matches the filter, and it does not say what a new value would hold');
}

function checkMutable(p: PatchPath, op: string, rs: ResourceSchema): void {
    const def = p.def;
    if (!def) return;
    if (def.mutability === 'readOnly') throw new ScimError(400, `${def.name} is read-only`, 'mutability');
    const sub = p.subAfterFilter ?? p.attr.subAttribute;
    const subDef = sub ? findDef(def.subAttributes, sub) : undefined;
    if (subDef?.mutability === 'readOnly')
        throw new ScimError(400, `${def.name}.${subDef.name} is read-only`, 'mutability');
    if (
        op === 'remove' &&
        def.required &&
        !sub &&
        !p.filter &&
        !p.attr.extension &&
        rs.attributes.includes(def)
    )
        throw new ScimError(400, `${def.name} is required: it can be replaced, not removed`, 'mutability');
}

/** A copy of `obj` without `name` (in any case). */
function without(obj: Obj, name: string): Obj {
    const key = keyOf(obj, name) ?? name;
    const { [key]: _gone, ...rest } = obj;
    return rest;
}

/** The object the path's attribute lives in, safe to change: the resource (a copy) or a fresh copy of its extension object. */
function writableContainer(resource: Obj, attr: AttrPath, create: boolean): Obj | undefined {
    const container = containerOf(resource, attr, create);
    if (!container || !attr.extension || container === resource) return container;
    const key = keyOf(resource, attr.extension) ?? attr.extension;
    const copy = { ...container };
    resource[key] = copy;
    return copy;
}

/**
 * One operation. It never changes an object it did not make: values are replaced by changed copies, so the
 * caller may pass a shallow copy of the stored resource (a PATCH of a 10,000-member group copies no member).
 */
function apply(
    resource: Obj,
    op: 'add' | 'replace' | 'remove',
    pathText: string,
    value: unknown,
    rs: ResourceSchema
): void {
    const p = parsePatchPath(pathText, rs);
    checkMutable(p, op, rs);
    const container = writableContainer(resource, p.attr, op !== 'remove');
    if (!container) {
        if (op === 'remove') return;
        throw invalidPath(`"${pathText}": its schema extension holds no object`);
    }
    const key = keyOf(container, p.attr.attribute) ?? p.def?.name ?? p.attr.attribute;
    const def = p.def;
    const current = container[key];

    if (p.filter) {
        const list = Array.isArray(current) ? (current as unknown[]) : [];
        const matched = new Set(list.filter((e) => isObj(e) && matches(p.filter as Filter, e, rs, def)));
        const sub = p.subAfterFilter;
        const subName = sub ? (findDef(def?.subAttributes, sub)?.name ?? sub) : undefined;
        if (op === 'remove') {
            if (matched.size === 0) throw noTarget(`"${pathText}" matches no value`);
            const left = subName
                ? list.map((e) => (matched.has(e) ? without(e as Obj, subName) : e))
                : list.filter((e) => !matched.has(e));
            if (left.length === 0) delete container[key];
            else container[key] = left;
            return;
        }
        if (matched.size === 0) {
            // RFC 7644 §3.5.2.3: replace with a value filter that matches nothing is noTarget. An add makes the
            // element the filter describes (`emails[type eq "work"].value` adds a work email).
            if (op === 'replace') throw noTarget(`"${pathText}" matches no value`);
            const element = elementFromFilter(p.filter);
            if (subName) element[subName] = canonicalValue(value, findDef(def?.subAttributes, subName));
            else if (isObj(value)) Object.assign(element, canonicalValue(value, def));
            else throw invalidValue(`"${pathText}" takes an object value`);
            container[key] = [...list, element];
            return;
        }
        if (!subName && !isObj(value)) throw invalidValue(`"${pathText}" takes an object value`);
        const replacement = subName
            ? canonicalValue(value, findDef(def?.subAttributes, subName))
            : (canonicalValue(value, def) as Obj);
        container[key] = list.map((e) => {
            if (!matched.has(e)) return e;
            if (subName) return { ...(e as Obj), [subName]: replacement };
            return op === 'replace'
                ? { ...(replacement as Obj) }
                : { ...(e as Obj), ...(replacement as Obj) };
        });
        return;
    }

    const sub = p.attr.subAttribute;
    if (sub) {
        const subName = findDef(def?.subAttributes, sub)?.name ?? sub;
        const subValue = canonicalValue(value, findDef(def?.subAttributes, sub));
        if (Array.isArray(current)) {
            if (op !== 'remove' && current.length === 0) throw noTarget(`"${pathText}": ${key} has no value`);
            container[key] = current.map((e: unknown) => {
                if (!isObj(e)) return e;
                return op === 'remove'
                    ? without(e, subName)
                    : { ...e, [keyOf(e, subName) ?? subName]: subValue };
            });
            return;
        }
        if (op === 'remove') {
            if (isObj(current)) container[key] = without(current, subName);
            return;
        }
        const target = isObj(current) ? { ...current } : {};
        target[keyOf(target, subName) ?? subName] = subValue;
        container[key] = target;
        return;
    }

    if (op === 'remove') {
        // Not in RFC 7644, but what several providers send: remove "members" with the values to take out.
        if (value !== undefined && Array.isArray(current)) {
            const out = (Array.isArray(value) ? value : [value]) as unknown[];
            container[key] = current.filter((c) => !out.some((v) => sameValue(c, v)));
        } else {
            delete container[key];
        }
        return;
    }
    const canonical = canonicalValue(value, def);
    if (def?.multiValued) {
        const values = Array.isArray(canonical) ? canonical : [canonical];
        if (op === 'add') appendValues(container, key, values);
        else container[key] = values;
        return;
    }
    if (def?.type === 'complex' && isObj(canonical) && isObj(current)) {
        // A complex attribute takes the sub-attributes given (§3.5.2.1, §3.5.2.3).
        container[key] = { ...current, ...canonical };
        return;
    }
    container[key] = canonical;
}

interface ValueRemoval {
    p: PatchPath;
    value: string;
    pathText: string;
}

/** `remove attr[value eq "…"]` (how members leave a group), or undefined for any other operation. */
function valueRemoval(raw: unknown, rs: ResourceSchema): ValueRemoval | undefined {
    if (!isObj(raw) || typeof raw.op !== 'string' || raw.op.toLowerCase() !== 'remove') return undefined;
    if (typeof raw.path !== 'string' || !raw.path.includes('[')) return undefined;
    const p = parsePatchPath(raw.path, rs);
    const f = p.filter;
    if (!f || f.kind !== 'compare' || f.op !== 'eq' || typeof f.value !== 'string') return undefined;
    if (
        f.path.subAttribute ||
        f.path.attribute.toLowerCase() !== 'value' ||
        p.subAfterFilter ||
        !p.def?.multiValued
    )
        return undefined;
    return { p, value: f.value, pathText: raw.path };
}

function sameAttribute(a: PatchPath, b: PatchPath): boolean {
    return (
        a.attr.extension === b.attr.extension &&
        a.attr.attribute.toLowerCase() === b.attr.attribute.toLowerCase()
    );
}

/**
 * A run of `remove attr[value eq "…"]` operations on one attribute, in one pass over its values: a PATCH
 * removing 100 members from a group of 10,000 reads the members once, not 100 times. The outcome is the
 * one-by-one outcome: each operation must match a value still there (else noTarget).
 */
function removeByValues(resource: Obj, run: ValueRemoval[], rs: ResourceSchema): void {
    const p = run[0].p;
    checkMutable(p, 'remove', rs);
    const exact = findDef(p.def?.subAttributes, 'value')?.caseExact ?? false;
    const norm = (v: unknown): string | undefined =>
        typeof v === 'string' ? (exact ? v : v.toLowerCase()) : undefined;
    const container = writableContainer(resource, p.attr, false);
    const key = container ? (keyOf(container, p.attr.attribute) ?? p.attr.attribute) : undefined;
    const list = container && key && Array.isArray(container[key]) ? (container[key] as unknown[]) : [];
    const present = new Set(list.map((e) => (isObj(e) ? norm(e.value) : undefined)));
    const gone = new Set<string>();
    for (const r of run) {
        const v = norm(r.value) as string;
        if (!present.has(v) || gone.has(v)) throw noTarget(`"${r.pathText}" matches no value`);
        gone.add(v);
    }
    if (!container || key === undefined) return;
    const left = list.filter((e) => !(isObj(e) && gone.has(norm(e.value) as string)));
    if (left.length === 0) delete container[key];
    else container[key] = left;
}

/** Applies a PatchOp message (RFC 7644 §3.5.2) to `resource`, in order; throws at the first failing op. */
export function applyPatch(resource: Obj, body: unknown, rs: ResourceSchema): void {
    if (!isObj(body)) throw invalidSyntax('the request body must be a PatchOp JSON object');
    const schemas = body.schemas;
    if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP))
        throw invalidSyntax(`a PATCH body must list the schema ${PATCH_OP}`);
    const ops = body.Operations ?? body.operations;
    if (!Array.isArray(ops) || ops.length === 0)
        throw invalidSyntax('a PATCH body needs a non-empty Operations array');
    for (let i = 0; i < ops.length;) {
        const removal = valueRemoval(ops[i], rs);
        if (removal) {
            const run = [removal];
            let j = i + 1;
            for (; j < ops.length; j++) {
                const next = valueRemoval(ops[j], rs);
                if (!next || !sameAttribute(next.p, removal.p)) break;
                run.push(next);
            }
            removeByValues(resource, run, rs);
            i = j;
            continue;
        }
        applyOne(resource, ops[i], i, rs);
        i++;
    }
}

function applyOne(resource: Obj, raw: unknown, i: number, rs: ResourceSchema): void {
    if (!isObj(raw)) throw invalidSyntax(`Operations[${i}] must be an object`);
    const op = typeof raw.op === 'string' ? raw.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace')
        throw invalidSyntax(`Operations[${i}].op must be "add", "remove" or "replace"`);
    const path = raw.path;
    if (path !== undefined && (typeof path !== 'string' || path === ''))
        throw invalidPath(`Operations[${i}].path must be a non-empty string`);
    if (op !== 'remove' && !('value' in raw)) throw invalidSyntax(`Operations[${i}] (${op}) needs a value`);
    if (path === undefined) {
        if (op === 'remove') throw noTarget(`Operations[${i}]: remove needs a path`);
        if (!isObj(raw.value))
            throw invalidSyntax(`Operations[${i}]: without a path, the value must be an object`);
        for (const [k, v] of Object.entries(raw.value)) {
            const ext = [...rs.extensions.keys()].find((u) => u.toLowerCase() === k.toLowerCase());
            if (ext && isObj(v)) {
                for (const [ek, evalue] of Object.entries(v)) apply(resource, op, `${ext}:${ek}`, evalue, rs);
            } else if (k.toLowerCase() !== 'schemas') {
                apply(resource, op, k, v, rs);
            }
        }
    } else {
        apply(resource, op, path, raw.value, rs);
    }
}
