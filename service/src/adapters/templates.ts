/**
 * Mail templates: files a deployment can replace (TEMPLATES_DIR). A small logic-less syntax:
 * `{{name}}` or `{{a.b}}` inserts a value, always escaped for the output (HTML or plain text);
 * `{{#list}}…{{/list}}` repeats for each element (or renders once when truthy), `{{^x}}…{{/x}}` renders
 * when x is empty, false or 0 (so `{{#count}}` reads "when there are any"); inside a section `{{.}}` is the element itself. There is no raw insertion.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MailTemplates as MailTemplatesPort, RenderedMail } from '../ports';

type Node =
    | { kind: 'text'; text: string }
    | { kind: 'value'; path: string }
    | { kind: 'section'; path: string; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/]?)\s*([\w.]+)\s*\}\}/g;

/** A section tag alone on its line takes the line with it (as in Mustache), so templates stay readable. */
const STANDALONE = /^[ \t]*(\{\{\s*[#^/]\s*[\w.]+\s*\}\})[ \t]*\r?\n/gm;

export function parseTemplate(template: string, name = 'template'): Node[] {
    const source = template.replace(STANDALONE, '$1');
    const root: Node[] = [];
    const stack: { path: string; children: Node[] }[] = [{ path: '', children: root }];
    let last = 0;
    for (const match of source.matchAll(TAG)) {
        const [whole, sigil, path] = match;
        const top = stack[stack.length - 1];
        if (match.index > last) top.children.push({ kind: 'text', text: source.slice(last, match.index) });
        last = match.index + whole.length;
        if (sigil === '#' || sigil === '^') {
            const section: Node = { kind: 'section', path, inverted: sigil === '^', children: [] };
            top.children.push(section);
            stack.push({ path, children: section.children });
        } else if (sigil === '/') {
            if (stack.length === 1 || top.path !== path) {
                throw new Error(`${name}: unexpected {{/${path}}}`);
            }
            stack.pop();
        } else {
            top.children.push({ kind: 'value', path });
        }
    }
    if (stack.length > 1) throw new Error(`${name}: {{#${stack[stack.length - 1].path}}} is not closed`);
    if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
    return root;
}

function lookup(scopes: unknown[], path: string): unknown {
    if (path === '.') return scopes[scopes.length - 1];
    const [head, ...rest] = path.split('.');
    for (let i = scopes.length - 1; i >= 0; i--) {
        const scope = scopes[i];
        if (scope !== null && typeof scope === 'object' && head in scope) {
            let value: unknown = (scope as Record<string, unknown>)[head];
            for (const key of rest) {
                value =
                    value !== null && typeof value === 'object'
                        ? (value as Record<string, unknown>)[key]
                        : undefined;
            }
            return value;
        }
    }
    return undefined;
}

function renderNodes(nodes: Node[], scopes: unknown[], escape: (value: string) => string): string {
    let out = '';
    for (const node of nodes) {
        if (node.kind === 'text') {
            out += node.text;
        } else if (node.kind === 'value') {
            const value = lookup(scopes, node.path);
            out += value === undefined || value === null ? '' : escape(String(value));
        } else {
            const value = lookup(scopes, node.path);
            const empty =
                value === undefined ||
                value === null ||
                value === false ||
                value === '' ||
                value === 0 ||
                (Array.isArray(value) && value.length === 0);
            if (node.inverted) {
                if (empty) out += renderNodes(node.children, scopes, escape);
            } else if (Array.isArray(value)) {
                for (const element of value) out += renderNodes(node.children, [...scopes, element], escape);
            } else if (!empty) {
                out += renderNodes(node.children, [...scopes, value], escape);
            }
        }
    }
    return out;
}

export function escapeHtml(value: string): string {
    return value
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

/** Plain text and header values: no control characters, so no value can start a new line or header. */
export function escapeText(value: string): string {
    return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

export type { RenderedMail };

/** A named mail: `<name>.subject.txt`, `<name>.html` and `<name>.txt` in the templates folder. */
export class MailTemplates implements MailTemplatesPort {
    private readonly cache = new Map<string, { subject: Node[]; html: Node[]; text: Node[] }>();

    constructor(private readonly dir: string) {}

    render(name: string, context: Record<string, unknown>): RenderedMail {
        const template = this.load(name);
        return {
            subject: escapeText(renderNodes(template.subject, [context], escapeText)).trim(),
            html: renderNodes(template.html, [context], escapeHtml),
            text: renderNodes(template.text, [context], escapeText)
        };
    }

    private load(name: string) {
        let template = this.cache.get(name);
        if (!template) {
            const read = (suffix: string) => {
                const file = join(this.dir, `${name}${suffix}`);
                return parseTemplate(readFileSync(file, 'utf8'), file);
            };
            template = { subject: read('.subject.txt'), html: read('.html'), text: read('.txt') };
            this.cache.set(name, template);
        }
        return template;
    }
}
