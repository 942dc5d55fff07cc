/** An error answered the way Salesforce answers it: a status and `[{message, errorCode, fields?}]`. */
export class SalesforceError extends Error {
    constructor(
        readonly status: number,
        readonly errorCode: string,
        message: string,
        readonly fields?: string[]
    ) {
        super(message);
    }

    body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
        return [
            this.fields === undefined
                ? { message: this.message, errorCode: this.errorCode }
                : { message: this.message, errorCode: this.errorCode, fields: this.fields }
        ];
    }
}

/** One failed record of a DML call: `{statusCode, message, fields}` as in a SaveResult. */
export interface RecordError {
    statusCode: string;
    message: string;
    fields: string[];
}

export class RecordFailure extends Error {
    constructor(readonly errors: RecordError[]) {
        super(errors.map((e) => e.message).join('; '));
    }
}

export function recordError(statusCode: string, message: string, fields: string[] = []): RecordFailure {
    return new RecordFailure([{ statusCode, message, fields }]);
}
