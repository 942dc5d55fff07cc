/**
 * One set the org refuses never sinks the others (DESIGN §2: an invalid set is skipped and named, it never
 * aborts the run). The sets' candidate queries are packed together, so when the org refuses one (a value it
 * will not take, a field the integration user cannot read, anything it answers 4xx to), which set is at fault
 * is found afterwards: only then, so a clean run makes no call more.
 *
 * The sets are split in halves and each half's own candidate queries are asked again, reading one row
 * (`LIMIT 1`: a refusal comes before any row) and selecting only Id besides each half's own fields, so a
 * field the evaluation reads for every set (Name, Email) cannot blame a set. A half the org accepts is
 * cleared at once; a refused half is split again, down to the single sets it refuses, each named with the
 * org's own reason. With r refused sets among n, that is at most 2·r·⌈log₂ n⌉ halves asked, one one-row
 * query each unless a half's sets need several queries (one refused set among 8: 6). When no set is
 * refused alone (the refusal came from the sets together, or from what the evaluation added to them), nobody
 * is blamed and the evaluation fails with the org's error, as before.
 */
import { planCandidateQueries, type CompileContext, type PreparedSet } from '../engine';
import type { AppError } from '../errors';
import type { OrgGateway } from '../ports';
import { isOrgRefusal } from './candidates';

export interface RefusedSet {
    set: PreparedSet;
    /** What the org answered to the set's own query, for people (the run, the email, the editor). */
    reason: string;
}

/** The org's reason without the adapter's "Salesforce query failed:" preamble. */
export function orgReason(error: AppError): string {
    return error.message.replace(/^Salesforce [^:]*failed: /, '').trim();
}

export function refusalMessage(error: AppError): string {
    return `Salesforce refused this set's query: ${orgReason(error)}. Correct the condition it names and save the set again; the other sets were evaluated without it.`;
}

/** The sets the org refuses, each with the org's reason (see the header for how, and what it costs). */
export async function findRefusedSets(
    org: OrgGateway,
    sets: ReadonlyArray<PreparedSet>,
    ctx: CompileContext
): Promise<RefusedSet[]> {
    const refused: RefusedSet[] = [];
    const refusalOf = async (group: ReadonlyArray<PreparedSet>): Promise<AppError | undefined> => {
        const plan = planCandidateQueries(group, { ctx, baseFields: ['Id'] });
        for (const soql of plan.queries) {
            try {
                await org.query(`${soql} LIMIT 1`);
            } catch (error) {
                if (isOrgRefusal(error)) return error;
                throw error;
            }
        }
        return undefined;
    };
    const search = async (group: ReadonlyArray<PreparedSet>): Promise<void> => {
        const middle = Math.ceil(group.length / 2);
        for (const half of [group.slice(0, middle), group.slice(middle)]) {
            if (half.length === 0) continue;
            const refusal = await refusalOf(half);
            if (!refusal) continue;
            if (half.length === 1) refused.push({ set: half[0], reason: refusalMessage(refusal) });
            else await search(half);
        }
    };
    await search(sets);
    return refused;
}
