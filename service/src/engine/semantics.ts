/**
 * The condition semantics, once: how a User record's value is read and normalised, and how each
 * operator decides on it. They follow SOQL (see docs/engine.md for the documentation behind each):
 * - strings compare case-insensitively; `contains` / `startsWith` take `%` and `_` literally;
 * - SOQL's WHERE is two-valued: a condition on a null value is simply false for `=`, `<`, `>`, `<=`,
 *   `>=`, `LIKE`, `IN`, `INCLUDES`, and its negations (`!=`, `NOT IN`, `NOT LIKE`, `EXCLUDES`) are
 *   therefore true for null;
 * - a boolean is never null: null matches false;
 * - a missing parent (no role, no manager) makes each of its fields null;
 * - `IsManager` is true when some active user has this user as ManagerId (`ctx.managerIds`).
 */
import { parseDatetime, relativeWindow, type RelativeWindow } from './dates';
import type { Operator } from './operators';
import { IS_MANAGER, type SchemaField } from './schema';
import type { ConditionScalar, ConditionValue, EvalContext, UserRecord } from './types';

/** A field's value as the predicates compare it. */
export type Normalized = string | number | boolean | ReadonlySet<string> | null;

export type Predicate = (value: Normalized, ctx: EvalContext) => boolean;

/** Reads a field's raw value from a User record (null when it, or its parent, is missing). */
export function readRaw(user: UserRecord, field: SchemaField, ctx: EvalContext): unknown {
    if (field.derived) return field.path === IS_MANAGER ? ctx.managerIds.has(user.Id) : null;
    if (field.relationship) {
        const parent = user[field.relationship];
        if (parent === null || parent === undefined || typeof parent !== 'object') return null;
        const value = (parent as Record<string, unknown>)[field.name];
        return value === undefined ? null : value;
    }
    const value = user[field.name];
    return value === undefined ? null : value;
}

const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'url', 'picklist']);
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent']);

/** An Id compares on its 15-character, case-sensitive form (18-character Ids only add a checksum). */
export function normalizeId(value: string): string {
    return value.length === 18 ? value.slice(0, 15) : value;
}

export function normalize(raw: unknown, field: SchemaField): Normalized {
    const type = field.type;
    if (type === 'boolean') return raw === true || raw === 'true';
    if (raw === null || raw === undefined || raw === '') return null;
    if (TEXT_TYPES.has(type)) return String(raw).toLowerCase();
    if (NUMBER_TYPES.has(type)) {
        const number = typeof raw === 'number' ? raw : Number(raw);
        return Number.isFinite(number) ? number : null;
    }
    if (type === 'datetime') {
        const epoch = typeof raw === 'number' ? raw : parseDatetime(String(raw));
        return Number.isNaN(epoch) ? null : epoch;
    }
    if (type === 'date') return String(raw).slice(0, 10);
    if (type === 'multipicklist') {
        const parts = String(raw)
            .split(';')
            .map((part) => part.trim().toLowerCase())
            .filter((part) => part !== '');
        return parts.length === 0 ? null : new Set(parts);
    }
    if (type === 'id' || type === 'reference') return normalizeId(String(raw));
    return String(raw);
}

export type Reader = (user: UserRecord, ctx: EvalContext) => Normalized;

/**
 * A reader specialised for one field: `normalize(readRaw(user, field, ctx), field)` without the
 * per-call dispatch on the field's kind, for the hot loop over many users.
 */
export function buildReader(field: SchemaField): Reader {
    if (field.derived) {
        return field.path === IS_MANAGER ? (user, ctx) => ctx.managerIds.has(user.Id) : () => false;
    }
    const name = field.name;
    const relationship = field.relationship;
    const raw: (user: UserRecord) => unknown = relationship
        ? (user) => {
              const parent = user[relationship] as Record<string, unknown> | null | undefined;
              return parent === null || parent === undefined || typeof parent !== 'object'
                  ? null
                  : parent[name];
          }
        : (user) => user[name];
    const type = field.type;
    if (TEXT_TYPES.has(type)) {
        return (user) => {
            const value = raw(user);
            if (value === null || value === undefined || value === '') return null;
            return typeof value === 'string' ? value.toLowerCase() : String(value).toLowerCase();
        };
    }
    if (type === 'boolean') {
        return (user) => {
            const value = raw(user);
            return value === true || value === 'true';
        };
    }
    if (type === 'datetime') {
        return (user) => {
            const value = raw(user);
            if (value === null || value === undefined || value === '') return null;
            const epoch = typeof value === 'number' ? value : parseDatetime(String(value));
            return Number.isNaN(epoch) ? null : epoch;
        };
    }
    return (user) => normalize(raw(user), field);
}

/** Normalises a condition's (validated) scalar value the way the field's values are normalised. */
export function normalizeOperand(value: ConditionScalar, field: SchemaField): string | number | boolean {
    const type = field.type;
    if (type === 'boolean') return value === true;
    if (NUMBER_TYPES.has(type)) return Number(value);
    if (type === 'datetime') return parseDatetime(String(value));
    if (type === 'date') return String(value);
    if (type === 'id' || type === 'reference') return normalizeId(String(value));
    return String(value).toLowerCase();
}

function asList(value: ConditionValue | undefined): ConditionScalar[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
}

/**
 * The predicate of one validated condition. Relative-date windows are computed from the context's
 * clock and time zone, once per context.
 */
export function buildPredicate(
    operator: Operator,
    value: ConditionValue | undefined,
    field: SchemaField
): Predicate {
    const scalar = Array.isArray(value) ? value[0] : value;
    switch (operator) {
        case 'equals':
        case 'notEquals': {
            const operand = normalizeOperand(scalar as ConditionScalar, field);
            const isEqual = (v: Normalized): boolean => v !== null && v === operand;
            if (field.type === 'boolean') {
                // Booleans are never null in SOQL (null matches false): compare the value directly.
                return operator === 'equals' ? (v) => v === operand : (v) => v !== operand;
            }
            return operator === 'equals' ? (v) => isEqual(v) : (v) => !isEqual(v);
        }
        case 'lessThan': {
            const operand = normalizeOperand(scalar as ConditionScalar, field);
            return (v) => v !== null && (v as number) < (operand as number);
        }
        case 'greaterThan': {
            const operand = normalizeOperand(scalar as ConditionScalar, field);
            return (v) => v !== null && (v as number) > (operand as number);
        }
        case 'lessOrEqual': {
            const operand = normalizeOperand(scalar as ConditionScalar, field);
            return (v) => v !== null && (v as number) <= (operand as number);
        }
        case 'greaterOrEqual': {
            const operand = normalizeOperand(scalar as ConditionScalar, field);
            return (v) => v !== null && (v as number) >= (operand as number);
        }
        case 'contains': {
            const needle = String(scalar).toLowerCase();
            return (v) => v !== null && (v as string).includes(needle);
        }
        case 'notContains': {
            const needle = String(scalar).toLowerCase();
            return (v) => v === null || !(v as string).includes(needle);
        }
        case 'startsWith': {
            const prefix = String(scalar).toLowerCase();
            return (v) => v !== null && (v as string).startsWith(prefix);
        }
        case 'in':
        case 'notIn': {
            const members = new Set(asList(value).map((item) => normalizeOperand(item, field)));
            return operator === 'in'
                ? (v) => v !== null && members.has(v as string | number)
                : (v) => v === null || !members.has(v as string | number);
        }
        case 'isNull':
            return (v) => v === null;
        case 'isNotNull':
            return (v) => v !== null;
        case 'includes':
        case 'excludes': {
            // Each list item is one alternative; `;` inside an item means all of those values at once.
            const groups = asList(value).map((item) =>
                String(item)
                    .split(';')
                    .map((part) => part.trim().toLowerCase())
                    .filter((part) => part !== '')
            );
            const includes = (v: Normalized): boolean => {
                if (v === null) return false;
                const selected = v as ReadonlySet<string>;
                return groups.some((group) => group.length > 0 && group.every((part) => selected.has(part)));
            };
            return operator === 'includes' ? includes : (v) => !includes(v);
        }
        case 'withinLastDays':
        case 'olderThanDays': {
            const days = Number(scalar);
            let lastCtx: EvalContext | null = null;
            let window: RelativeWindow | null = null;
            const windowFor = (ctx: EvalContext): RelativeWindow => {
                if (ctx !== lastCtx || !window) {
                    window = relativeWindow(days, ctx.now, ctx.timeZone);
                    lastCtx = ctx;
                }
                return window;
            };
            if (field.type === 'date') {
                return operator === 'withinLastDays'
                    ? (v, ctx) => {
                          if (v === null) return false;
                          const w = windowFor(ctx);
                          return (v as string) >= w.fromDay && (v as string) <= w.today;
                      }
                    : (v, ctx) => v !== null && (v as string) < windowFor(ctx).fromDay;
            }
            return operator === 'withinLastDays'
                ? (v, ctx) => {
                      if (v === null) return false;
                      const w = windowFor(ctx);
                      return (v as number) >= w.fromInstant && (v as number) < w.tomorrowInstant;
                  }
                : (v, ctx) => v !== null && (v as number) < windowFor(ctx).fromInstant;
        }
    }
}
