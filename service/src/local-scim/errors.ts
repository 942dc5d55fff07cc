import { ERROR_SCHEMA } from './schemas';

/** RFC 7644 §3.12 scimType values. */
export type ScimType =
    | 'invalidFilter'
    | 'tooMany'
    | 'uniqueness'
    | 'mutability'
    | 'invalidSyntax'
    | 'invalidPath'
    | 'noTarget'
    | 'invalidValue'
    | 'invalidVers'
    | 'sensitive';

/** An error answered as RFC 7644 §3.12 says: `{schemas: [Error], status: "400", scimType?, detail}`. */
export class ScimError extends Error {
    constructor(
        readonly status: number,
        detail: string,
        readonly scimType?: ScimType
    ) {
        super(detail);
    }

    body(): Record<string, unknown> {
        return {
            schemas: [ERROR_SCHEMA],
            status: String(this.status),
            ...(this.scimType ? { scimType: this.scimType } : {}),
            detail: this.message
        };
    }
}

export const invalidSyntax = (detail: string) => new ScimError(400, detail, 'invalidSyntax');
export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue');
export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter');
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath');
export const noTarget = (detail: string) => new ScimError(400, detail, 'noTarget');
export const notFound = (detail: string) => new ScimError(404, detail);
