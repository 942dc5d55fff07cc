/**
 * Reduces one or more LDS, Apex, network or JavaScript errors into a string[] of error messages.
 * @param {FetchResponse|FetchResponse[]|Error} errors
 * @return {String[]} Error messages
 */
export function reduceErrors(errors) {
    if (!Array.isArray(errors)) {
        errors = [errors];
    }

    return (
        errors
            // Remove null/undefined items
            .filter((error) => !!error)
            // Extract an error message
            .map((error) => {
                // UI API read errors
                if (Array.isArray(error.body)) {
                    return error.body.map((e) => e.message);
                }
                // Page-level and field-level errors from UI API DML
                else if (error.body && error.body.output) {
                    const pageErrors = (error.body.output.errors || []).map((e) => e.message);
                    const fieldErrors = Object.values(error.body.output.fieldErrors || {})
                        .flat()
                        .map((e) => e.message);
                    const messages = [...pageErrors, ...fieldErrors];
                    return messages.length ? messages : error.body.message;
                }
                // UI API DML, Apex and network errors
                else if (error.body && typeof error.body.message === 'string') {
                    return error.body.message;
                }
                // JS errors
                else if (typeof error.message === 'string') {
                    return error.message;
                }
                // Plain strings
                else if (typeof error === 'string') {
                    return error;
                }
                // Unknown error shape so try HTTP status text
                return error.statusText;
            })
            // Flatten
            .reduce((prev, curr) => prev.concat(curr), [])
            // Remove empty strings
            .filter((message) => !!message)
    );
}
