import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_PATHS, renderOperatorTableFiles } from '../../scripts/generate-operator-table';
import { OPERATOR_INFO, OPERATOR_TABLE } from '../../service/src/engine';

const root = join(__dirname, '..', '..');

describe('generated operator table', () => {
    const rendered = renderOperatorTableFiles();

    it.each(Object.keys(GENERATED_PATHS) as (keyof typeof GENERATED_PATHS)[])(
        'when %s is read from disk, then it equals what `npm run generate` writes (run it if this fails)',
        (key) => {
            const onDisk = readFileSync(join(root, GENERATED_PATHS[key]), 'utf8');
            expect(onDisk).toBe(rendered[key]);
        }
    );

    it('when Apex reads the static resource, then it holds the engine table and labels', () => {
        const json = JSON.parse(rendered.staticResource);
        expect(json.version).toBe(1);
        expect(json.fieldTypes).toEqual(OPERATOR_TABLE);
        expect(json.operators.contains.label).toBe(OPERATOR_INFO.contains.label);
        expect(json.listOperators).toEqual(['in', 'notIn', 'includes', 'excludes']);
        expect(json.noValueOperators).toEqual(['isNull', 'isNotNull']);
        expect(json.wholeNumberOperators).toEqual(['withinLastDays', 'olderThanDays']);
    });

    it('when the static resource meta is read, then it is public application/json', () => {
        expect(rendered.staticResourceMeta).toContain('<contentType>application/json</contentType>');
        expect(rendered.staticResourceMeta).toContain('<cacheControl>Public</cacheControl>');
        expect(rendered.lwcMeta).toContain('<isExposed>false</isExposed>');
    });
});
