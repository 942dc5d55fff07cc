/**
 * The Apex surface outside an org: every `@salesforce/apex/Class.method` the force-app components import,
 * answered by a thin implementation over the local org's REST API and the service API, with the request
 * and response shapes of the Apex classes (test/admin-app/apex-contract.test.ts compares them with the
 * @AuraEnabled members parsed from the .cls files). Validation is the engine's. Failures are ApexError,
 * sent as the platform sends an AuraHandledException, so errorPanel and reduceErrors show them.
 */
import { Cron } from 'croner';
import { IS_MANAGER, buildSchema, builderFields, validateDefinition } from '../engine';
import type { Schema, SObjectDescribe } from '../engine';
import type { SettingsRecord } from '../domain/org-store';
import { cronPattern } from '../scheduler';
import { ApexError, type OrgRecord, type OrgRest, soqlQuote } from './org-rest';
import { CONNECTION_APEX_PARAMETERS, LocalConnections } from './local-connections';

const IN_PROGRESS = ['Queued', 'Running'];
const FINISHED = ['Completed', 'Completed with Errors', 'Failed', 'Expired'];
const PREVIEWING = 'Previewing';
const PREVIEWED = 'Previewed';
/** Runs that only previewed: History leaves them out unless asked (ProvisioningRuns.PREVIEW_ONLY_STATUSES). */
const PREVIEW_ONLY_STATUSES = ['Previewing', 'Previewed', 'Expired'];
const PROBLEM_STATUSES = ['Skipped', 'Failed'];
const ITEM_PAGE_SIZE = 500;
/** ProvisioningRuns.MAX_SEARCH_LENGTH and its refusal. */
const MAX_SEARCH_LENGTH = 100;
const SEARCH_TOO_LONG = 'Search with at most 100 characters.';
const PREVIEW_STALE_AFTER_SECONDS = 180;
const RESUMABLE_PREVIEW_HOURS = 12;
const DEFAULT_RUN_COUNT = 50;
const MAX_RUN_COUNT = 200;
const MAX_RECIPIENTS = 25;
const RECIPIENTS_MAX_LENGTH = 255;
const COPY_PREFIX = 'Copy of ';
const NOTHING_GRANTED = 'Choose a product, or grant access in an app in the Access section.';
const NAME_MAX_LENGTH = 80;
const FREQUENCIES = ['Hourly', 'Daily', 'Weekly'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const TIME_PATTERN = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const SLACK_CHANNEL_PATTERN = /^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$/;
const EMAIL_PATTERN = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

const RUN_FIELDS =
    'Id, Name, Status__c, Trigger__c, Initiated_By__r.Name, Started_At__c, Finished_At__c, Expires_At__c, ' +
    'Heartbeat__c, Evaluated_Count__c, Evaluation_Kind__c, Evaluation_Reason__c, Eligible_Count__c, Invited_Count__c, Skipped_Count__c, Failed_Count__c, ' +
    'Reminded_Count__c, Item_Count__c, Outcome_Summary__c, ' +
    'Api_Calls__c, Recipients__c, Notify_Admins__c, Error__c, Notification_Outcome__c, CreatedDate';
const ITEM_FIELDS =
    'Id, User__c, User__r.Name, Email__c, Products__c, Matched_Sets__c, Status__c, Reason__c, Product_Statuses__c, Kind__c';
const SET_FIELDS =
    'Id, Name, Active__c, Products__c, Eligible_Statuses__c, Definition__c, Description__c, LastModifiedDate';
const SETTINGS_FIELDS =
    'Id, SetupOwnerId, Schedule_Enabled__c, Schedule_Frequency__c, Schedule_Time__c, Schedule_Day__c, ' +
    'Recipients__c, Notify_Admins__c, Slack_Channel__c, Reminder_Days__c, Reminder_Max__c';

/** The service API, as Apex reaches it through the Named Credential. */
export interface ServiceApi {
    url: string;
    secret: string;
}

type Params = Record<string, unknown>;

/** The parameters of each @AuraEnabled method, by name as Apex declares them (checked against the .cls files). */
export const APEX_PARAMETERS: Record<string, string[]> = {
    'ConditionSetController.getConditionSets': [],
    'ConditionSetController.getConditionSet': ['conditionSetId'],
    'ConditionSetController.getEditorOptions': [],
    'ConditionSetController.validateDefinition': ['definition'],
    'ConditionSetController.saveConditionSet': ['conditionSet'],
    'ConditionSetController.checkImpact': ['conditionSet'],
    'ConditionSetController.getConditionSetCopy': ['conditionSetId'],
    'ConditionSetController.deleteConditionSet': ['conditionSetId'],
    'ProvisioningController.getRunInProgress': [],
    'ProvisioningController.startPreview': [],
    'ProvisioningController.startScheduleCheck': [],
    'ProvisioningController.getCurrentPreview': [],
    'ProvisioningController.getPreview': ['runId'],
    'ProvisioningController.provisionUsers': ['previewRunId', 'notifyAdmins', 'recipients'],
    'ProvisioningController.getRunStatus': ['runId', 'includeServiceProgress'],
    'RunHistoryController.getRuns': ['maxRuns', 'includePreviews'],
    'RunHistoryController.getOrgTimeZone': [],
    'RunHistoryController.getRunDetail': ['runId'],
    'RunHistoryController.getRunItems': ['runId', 'afterId', 'onlyProblems', 'search'],
    'RunHistoryController.explainUser': ['userId'],
    'ScheduledProvisioningController.getSettings': [],
    'ScheduledProvisioningController.saveSettings': ['settings'],
    // Connections (issue 19)
    ...CONNECTION_APEX_PARAMETERS
};
type Handler = (params: Params) => Promise<unknown>;

/** RollcallAccess: the permission set that makes an admin, and the refusal, word for word. */
const ADMIN_PERMISSION_SET = 'Rollcall_Admin';
export const NOT_ADMIN_MESSAGE =
    'You need the Rollcall Admin permission set to use Rollcall. Ask your Salesforce administrator to assign it to you.';

export interface Total {
    label: string;
    count: number;
}

function iso(value: unknown): string | null {
    return value == null || value === '' ? null : new Date(String(value)).toISOString();
}

function int(value: unknown): number {
    return value == null ? 0 : Math.trunc(Number(value));
}

function id(value: unknown, what: string): string {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw new ApexError(`Invalid id for ${what}.`);
    return value;
}

function optionalId(value: unknown, what: string): string | null {
    return value == null || value === '' ? null : id(value, what);
}

/**
 * ProvisioningRuns.searchPattern as a SOQL literal: "contains" the trimmed term, its % and _ (and the
 * backslash) escaped so they match themselves, its quote escaped; null for nothing to search. Apex binds
 * the pattern; the REST API takes it as a literal with the same escapes.
 */
function searchPattern(search: string | null): string | null {
    const term = (search ?? '').trim();
    if (term === '') return null;
    if (term.length > MAX_SEARCH_LENGTH) throw new ApexError(SEARCH_TOO_LONG);
    return `'%${term.replace(/[\\%_']/g, (c) => `\\${c}`)}%'`;
}

function text(value: unknown): string | null {
    return value == null ? null : String(value);
}

function toTotals(counts: Map<string, number>): Total[] {
    return [...counts.keys()].sort().map((label) => ({ label, count: counts.get(label)! }));
}

function add(counts: Map<string, number>, key: string | null | undefined, count = 1): void {
    if (!key || !key.trim()) return;
    counts.set(key, (counts.get(key) ?? 0) + count);
}

function splitMultiSelect(value: unknown): string[] {
    return typeof value === 'string' && value.trim() ? value.split(';') : [];
}

/** RecipientList.normalize. */
export function normalizeRecipients(recipients: unknown): string[] {
    const clean: string[] = [];
    const invalid: string[] = [];
    const seen = new Set<string>();
    for (const recipient of Array.isArray(recipients) ? recipients : []) {
        const address = recipient == null ? '' : String(recipient).trim();
        if (!address || seen.has(address.toLowerCase())) continue;
        seen.add(address.toLowerCase());
        (EMAIL_PATTERN.test(address) ? clean : invalid).push(address);
    }
    if (invalid.length) throw new ApexError(`These are not valid email addresses: ${invalid.join(', ')}.`);
    if (clean.length > MAX_RECIPIENTS)
        throw new ApexError(`Enter at most ${MAX_RECIPIENTS} additional email addresses.`);
    return clean;
}

export function runSummary(run: OrgRecord, now = new Date()) {
    const status = text(run.Status__c);
    const startedAt = iso(run.Started_At__c) ?? iso(run.CreatedDate);
    const finishedAt = iso(run.Finished_At__c);
    const expiresAt = iso(run.Expires_At__c);
    const heartbeatAt = iso(run.Heartbeat__c);
    const endedAt = finishedAt ? Date.parse(finishedAt) : now.getTime();
    const elapsed = startedAt ? endedAt - Date.parse(startedAt) : 0;
    const previewing = status === PREVIEWING;
    const lastSignOfLife = heartbeatAt ?? startedAt;
    const initiatedBy = run.Initiated_By__r as { Name?: string } | null | undefined;
    return {
        id: text(run.Id),
        name: text(run.Name),
        status,
        triggerType: text(run.Trigger__c),
        initiatedBy: initiatedBy?.Name ?? null,
        startedAt,
        finishedAt,
        expiresAt,
        heartbeatAt,
        elapsedSeconds: elapsed < 0 ? 0 : Math.floor(elapsed / 1000),
        evaluatedCount: int(run.Evaluated_Count__c),
        evaluationKind: text(run.Evaluation_Kind__c),
        evaluationReason: text(run.Evaluation_Reason__c),
        eligibleCount: int(run.Eligible_Count__c),
        invitedCount: int(run.Invited_Count__c),
        skippedCount: int(run.Skipped_Count__c),
        failedCount: int(run.Failed_Count__c),
        remindedCount: int(run.Reminded_Count__c),
        itemCount: int(run.Item_Count__c),
        processedCount:
            int(run.Invited_Count__c) +
            int(run.Reminded_Count__c) +
            int(run.Skipped_Count__c) +
            int(run.Failed_Count__c),
        outcomeSummary: text(run.Outcome_Summary__c),
        apiCalls: int(run.Api_Calls__c),
        recipients: text(run.Recipients__c),
        notifyAdmins: run.Notify_Admins__c == null ? null : run.Notify_Admins__c === true,
        error: text(run.Error__c),
        notificationOutcome: text(run.Notification_Outcome__c),
        inProgress: IN_PROGRESS.includes(status ?? ''),
        finished: FINISHED.includes(status ?? ''),
        freshPreview: status === PREVIEWED && (expiresAt == null || Date.parse(expiresAt) > now.getTime()),
        previewing,
        stalled:
            previewing &&
            lastSignOfLife != null &&
            Date.parse(lastSignOfLife) + PREVIEW_STALE_AFTER_SECONDS * 1000 < now.getTime(),
        progressDone: null as number | null,
        progressTotal: null as number | null,
        actionsDone: null as number | null,
        actionsFailed: null as number | null,
        actionsTotal: null as number | null
    };
}
export type RunSummary = ReturnType<typeof runSummary>;

function outcome(itemStatus: string | null, runStatus: string | null, itemKind?: unknown): string {
    if (itemStatus === 'Invited' && itemKind === 'Reminder') return 'Reminded';
    if (itemStatus && itemStatus.trim()) return itemStatus;
    const toSend =
        runStatus === PREVIEWING || runStatus === PREVIEWED || IN_PROGRESS.includes(runStatus ?? '');
    if (!toSend) return 'Not invited';
    return itemKind === 'Reminder' ? 'To remind' : 'To invite';
}

function describeProductStatuses(json: unknown): string | null {
    if (typeof json !== 'string' || !json.trim()) return null;
    try {
        const statuses = JSON.parse(json) as Record<string, unknown>;
        if (!statuses || typeof statuses !== 'object' || Array.isArray(statuses)) return json;
        return Object.keys(statuses)
            .sort()
            .map((product) => `${product}: ${String(statuses[product])}`)
            .join(', ');
    } catch {
        return json;
    }
}

/** "Meeting Links: Invited, Round Robin: Authorized": the item's products as their records are now. */
function describeStatusesNow(item: OrgRecord, statusNow: Map<string, string>): string | null {
    let products: string[] = [];
    try {
        const statuses = JSON.parse(String(item.Product_Statuses__c ?? '')) as Record<string, unknown>;
        if (statuses && typeof statuses === 'object' && !Array.isArray(statuses))
            products = Object.keys(statuses);
    } catch {
        products = [];
    }
    if (products.length === 0) products = splitMultiSelect(item.Products__c);
    if (products.length === 0) return null;
    return [...products]
        .sort()
        .map(
            (product) => `${product}: ${statusNow.get(`${String(item.User__c)}:${product}`) ?? 'Not Invited'}`
        )
        .join(', ');
}

function itemRow(item: OrgRecord, runStatus: string | null, statusNow?: Map<string, string>) {
    const user = item.User__r as { Name?: string } | null | undefined;
    const status = text(item.Status__c);
    return {
        id: text(item.Id),
        userId: text(item.User__c),
        userName: user?.Name ?? null,
        email: text(item.Email__c),
        products: typeof item.Products__c === 'string' ? item.Products__c.replace(/;/g, ', ') : null,
        // As Apex: a reminder whose invitation's record names no set says so (SETS_NOT_RECORDED).
        matchedSets:
            item.Kind__c === 'Reminder' && !text(item.Matched_Sets__c)
                ? 'Not recorded with the invitation'
                : text(item.Matched_Sets__c),
        status,
        reason: text(item.Reason__c),
        outcome: outcome(status, runStatus, item.Kind__c),
        currentStatus: statusNow
            ? describeStatusesNow(item, statusNow)
            : describeProductStatuses(item.Product_Statuses__c),
        kind: text(item.Kind__c)
    };
}

function countConditions(definition: unknown): number {
    try {
        const parsed = JSON.parse(String(definition)) as { conditions?: unknown[] };
        return Array.isArray(parsed.conditions) ? parsed.conditions.length : 0;
    } catch {
        return 0;
    }
}

function conditionSetRow(record: OrgRecord) {
    return {
        id: text(record.Id),
        name: text(record.Name),
        description: text(record.Description__c),
        active: record.Active__c === true,
        products: splitMultiSelect(record.Products__c),
        eligibleStatuses: splitMultiSelect(record.Eligible_Statuses__c),
        definition: text(record.Definition__c),
        conditionCount: countConditions(record.Definition__c),
        lastModifiedDate: iso(record.LastModifiedDate)
    };
}

interface PicklistDescribe {
    fields: { name: string; picklistValues?: { label: string; value: string; active: boolean }[] }[];
}

export class LocalApex {
    private schemaCache?: Schema;

    constructor(
        private readonly org: OrgRest,
        private readonly service: ServiceApi,
        /** The demo admin the page acts as (UserInfo.getUserId() in Apex). */
        private readonly adminUserId: string,
        private readonly orgId: string,
        private readonly now: () => Date = () => new Date()
    ) {}

    // Connections (issue 19): ConnectionController, in a module of its own, made on first use.
    private connectionsModule?: LocalConnections;
    private connections(): LocalConnections {
        this.connectionsModule ??= new LocalConnections(
            this.org,
            (method, path, body) => this.callService(method, path, body),
            () => this.schema(),
            this.adminUserId
        );
        return this.connectionsModule;
    }

    /** `Class.method` → handler; the names and parameters are those of the Apex classes. */
    readonly methods: Record<string, Handler> = {
        'ConditionSetController.getConditionSets': () => this.getConditionSets(),
        'ConditionSetController.getConditionSet': (p) =>
            this.findConditionSet(id(p.conditionSetId, 'the condition set')).then(conditionSetRow),
        'ConditionSetController.getEditorOptions': () => this.getEditorOptions(),
        'ConditionSetController.validateDefinition': (p) => this.validate(p.definition),
        'ConditionSetController.saveConditionSet': (p) =>
            this.saveConditionSet(p.conditionSet as Params | null),
        'ConditionSetController.checkImpact': (p) => this.checkImpact(p.conditionSet as Params | null),
        'ConditionSetController.getConditionSetCopy': (p) =>
            this.getConditionSetCopy(id(p.conditionSetId, 'the condition set')),
        'ConditionSetController.deleteConditionSet': (p) =>
            this.deleteConditionSet(id(p.conditionSetId, 'the condition set')),
        'ProvisioningController.getRunInProgress': () => this.runInProgress(),
        'ProvisioningController.startPreview': () => this.startPreview(),
        'ProvisioningController.startScheduleCheck': () => this.startPreview('schedule-check'),
        'ProvisioningController.getCurrentPreview': () => this.currentPreview(),
        'ProvisioningController.getPreview': (p) => this.detail(id(p.runId, 'the run')),
        'ProvisioningController.provisionUsers': (p) => this.provisionUsers(p),
        'ProvisioningController.getRunStatus': (p) =>
            this.getRunStatus(id(p.runId, 'the run'), p.includeServiceProgress === true),
        'RunHistoryController.getRuns': (p) => this.getRuns(p.maxRuns, p.includePreviews === true),
        'RunHistoryController.getOrgTimeZone': () => this.orgTimeZone(),
        'RunHistoryController.getRunDetail': (p) => this.detail(id(p.runId, 'the run')),
        'RunHistoryController.getRunItems': (p) => this.getRunItems(p),
        'RunHistoryController.explainUser': (p) => this.explainUser(id(p.userId, 'the user')),
        'ScheduledProvisioningController.getSettings': () => this.getSettings(),
        'ScheduledProvisioningController.saveSettings': (p) => this.saveSettings(p.settings as Params | null),
        // Connections (issue 19)
        ...Object.fromEntries(
            Object.keys(CONNECTION_APEX_PARAMETERS).map((name): [string, Handler] => [
                name,
                (p) => this.connections().methods[name](p)
            ])
        )
    };

    /**
     * One @AuraEnabled call. `runningUserId` is the user the page acts as (the demo admin unless the page's
     * switch says otherwise); as every Apex method starts with RollcallAccess.requireAdmin(), a user
     * without the Rollcall_Admin permission set is refused with its message, whatever the method.
     */
    async call(
        apexClass: string,
        method: string,
        params: Params,
        runningUserId: string = this.adminUserId
    ): Promise<unknown> {
        const name = `${apexClass}.${method}`;
        if (!Object.hasOwn(this.methods, name)) throw new ApexError(`No such Apex method: ${name}`);
        // In an org a parameter the method does not declare is silently lost: refused here so it shows.
        const unknown = Object.keys(params ?? {}).filter((param) => !APEX_PARAMETERS[name].includes(param));
        if (unknown.length) throw new ApexError(`Unknown parameter for ${name}: ${unknown.join(', ')}`);
        await this.requireAdmin(runningUserId);
        return (await this.methods[name](params ?? {})) ?? null;
    }

    /** RollcallAccess.requireAdmin over the local org's permission set assignments. */
    private async requireAdmin(userId: string): Promise<void> {
        if (!(await this.hasAdminPermissionSet(userId))) throw new ApexError(NOT_ADMIN_MESSAGE);
    }

    private async hasAdminPermissionSet(userId: string): Promise<boolean> {
        if (!ID_PATTERN.test(userId)) return false;
        const assignments = await this.org.query(
            `SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${userId}' AND PermissionSet.Name = '${ADMIN_PERMISSION_SET}'`
        );
        return assignments.length > 0;
    }

    /**
     * The custom permissions a user has, as `@salesforce/customPermission/…` answers them in an org: the
     * Rollcall_Admin permission set grants the Rollcall_Admin custom permission (its only one here).
     */
    async customPermissions(userId: string): Promise<string[]> {
        return (await this.hasAdminPermissionSet(userId)) ? [ADMIN_PERMISSION_SET] : [];
    }

    /** An active user of the org without the Rollcall_Admin permission set: who the page's switch acts as. */
    async findNonAdmin(): Promise<{ id: string; name: string }> {
        const admins = await this.org.query(
            `SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.Name = '${ADMIN_PERMISSION_SET}'`
        );
        const adminIds = new Set(admins.map((row) => String(row.AssigneeId)));
        const users = await this.org.query(
            "SELECT Id, Name FROM User WHERE IsActive = true AND UserType = 'Standard' ORDER BY Name LIMIT 50"
        );
        const user = users.find((candidate) => !adminIds.has(String(candidate.Id)));
        if (!user)
            throw new Error('The local org has no active user without the Rollcall_Admin permission set');
        return { id: String(user.Id), name: String(user.Name) };
    }

    // ConditionSetController

    private async getConditionSets() {
        const rows = await this.org.query(
            `SELECT ${SET_FIELDS} FROM Condition_Set__c ORDER BY CreatedDate ASC`
        );
        return rows.map(conditionSetRow);
    }

    private async findConditionSet(conditionSetId: string): Promise<OrgRecord> {
        const [record] = await this.org.query(
            `SELECT ${SET_FIELDS} FROM Condition_Set__c WHERE Id = ${soqlQuote(conditionSetId)}`
        );
        if (!record) throw new ApexError('The condition set no longer exists. Refresh the list.');
        return record;
    }

    private async schema(): Promise<Schema> {
        this.schemaCache ??= buildSchema(await this.org.describe<SObjectDescribe>('User'));
        return this.schemaCache;
    }

    private async getEditorOptions() {
        const schema = await this.schema();
        const fields = builderFields(schema).map((field) => ({
            path: field.path,
            label: field.label,
            type: field.type,
            derived: field.path === IS_MANAGER,
            picklistValues: (field.picklistValues ?? []).map((value) => ({ label: value, value }))
        }));
        // As ConditionSetController.suggestValues: the org's profile and role names offered as values.
        const names = async (sobject: string) =>
            (await this.org.query(`SELECT Name FROM ${sobject} ORDER BY Name LIMIT 1000`)).map((row) =>
                String(row.Name)
            );
        const suggestions: Record<string, string[]> = {
            'Profile.Name': await names('Profile'),
            'UserRole.Name': await names('UserRole')
        };
        for (const field of fields) {
            for (const name of suggestions[field.path] ?? [])
                field.picklistValues.push({ label: name, value: name });
        }
        const describe = await this.org.describe<PicklistDescribe>('Condition_Set__c');
        const options = (name: string) =>
            (describe.fields.find((field) => field.name === name)?.picklistValues ?? [])
                .filter((entry) => entry.active)
                .map((entry) => ({ label: entry.label, value: entry.value }));
        return { fields, products: options('Products__c'), statuses: options('Eligible_Statuses__c') };
    }

    private async validate(definition: unknown) {
        const result = validateDefinition(definition == null ? '' : String(definition), await this.schema());
        return {
            valid: result.ok,
            errors: result.ok
                ? []
                : result.errors.map((error) => ({
                      conditionIndex: error.condition ?? null,
                      code: error.code,
                      message: error.message
                  }))
        };
    }

    /** As RunHistoryController.explainUser: the service explains (GET /v1/users/{id}/explain). */
    private async explainUser(userId: string) {
        const why = await this.callService<{
            active?: boolean;
            user?: { Name?: string };
            sets?: {
                setName?: string;
                valid?: boolean;
                matched?: boolean;
                logic?: string;
                conditions?: {
                    number?: number;
                    field?: string;
                    operator?: string;
                    value?: unknown;
                    actual?: unknown;
                    outcome?: boolean;
                }[];
            }[];
            products?: { product?: string; status?: string; eligible?: boolean; reasons?: string[] }[];
        }>('GET', `/v1/users/${encodeURIComponent(userId)}/explain`);
        const fields = new Map(
            builderFields(await this.schema()).map((field) => [field.path.toLowerCase(), field])
        );
        const display = (value: unknown) =>
            value === null || value === undefined
                ? '(empty)'
                : Array.isArray(value)
                  ? value.map(String).join(', ')
                  : String(value);
        return {
            userName: why.user?.Name ?? null,
            active: why.active === true,
            sets: (why.sets ?? []).map((set) => ({
                name: set.setName ?? null,
                valid: set.valid === true,
                matched: set.matched === true,
                logic: set.logic ?? null,
                conditions: (set.conditions ?? []).map((condition) => {
                    const field = fields.get(String(condition.field).toLowerCase());
                    return {
                        label: `${condition.number}. ${condition.field} ${condition.operator}${
                            'value' in condition ? ` ${display(condition.value)}` : ''
                        }`,
                        actual: display(condition.actual),
                        outcome: condition.outcome === true,
                        conditionNumber: condition.number ?? null,
                        field: condition.field ?? null,
                        fieldLabel: field?.label ?? condition.field ?? null,
                        fieldType: field?.type ?? null,
                        operator: condition.operator ?? null,
                        value: 'value' in condition ? display(condition.value) : null
                    };
                })
            })),
            products: (why.products ?? []).map((product) => ({
                product: product.product ?? null,
                status: product.status ?? null,
                eligible: product.eligible === true,
                reasons: (product.reasons ?? []).join('; ')
            })),
            timeZone: await this.orgTimeZone()
        };
    }

    /** As ConditionSetController.checkImpact: the service evaluates the draft (POST /v1/condition-sets/impact). */
    private async checkImpact(input: Params | null) {
        if (!input || typeof input.definition !== 'string' || !input.definition.trim()) {
            throw new ApexError('Add at least one condition to see who the set matches.');
        }
        const products = Array.isArray(input.products) ? input.products.map(String) : [];
        const statuses = Array.isArray(input.eligibleStatuses) ? input.eligibleStatuses.map(String) : [];
        const impact = await this.callService<{
            matched?: number;
            alreadyGranted?: number;
            needsConfirmation?: boolean;
            overlaps?: { setId?: string; name?: string; users?: number; products?: string[] }[];
            invalidSets?: { id?: string; name?: string; reasons?: string[] }[];
        }>('POST', '/v1/condition-sets/impact', {
            definition: input.definition,
            products,
            ...(statuses.length > 0 ? { eligibleStatuses: statuses } : {}),
            ...(typeof input.id === 'string' && input.id ? { setId: input.id } : {}),
            ...(typeof input.name === 'string' && input.name.trim()
                ? { name: input.name.trim().slice(0, 80) }
                : {})
        });
        return {
            matched: impact.matched ?? 0,
            alreadyGranted: impact.alreadyGranted ?? 0,
            needsConfirmation: impact.needsConfirmation === true,
            overlaps: (impact.overlaps ?? []).map((overlap) => ({
                setId: overlap.setId ?? null,
                name: overlap.name ?? '',
                users: overlap.users ?? 0,
                products: (overlap.products ?? []).join(', ')
            })),
            invalidSets: (impact.invalidSets ?? []).map((invalid) => ({
                setId: invalid.id ?? null,
                name: invalid.name ?? '',
                reasons: (invalid.reasons ?? []).join(' ')
            }))
        };
    }

    /**
     * As ConditionSetController.saveConditionSet: the set and, when the call carries them, its access grants,
     * all or nothing. Everything is checked before anything is written; the local org has no transaction,
     * so a write refused after the set's is undone by hand (the set's fields restored or the new set
     * removed, the grants' writes taken back), as Apex's savepoint would.
     */
    private async saveConditionSet(input: Params | null) {
        const name = typeof input?.name === 'string' ? input.name.trim() : '';
        if (!input || !name) throw new ApexError('Enter a name for the condition set.');
        const existing = optionalId(input.id, 'the condition set');
        const grants =
            input.grants == null ? null : await this.connections().accessGrantChanges(existing, input.grants);
        const products = Array.isArray(input.products) ? input.products.map(String) : [];
        const statuses = Array.isArray(input.eligibleStatuses) ? input.eligibleStatuses.map(String) : [];
        if (!products.length && !(grants ? grants.writes.length > 0 : await this.hasGrants(existing))) {
            throw new ApexError(NOTHING_GRANTED);
        }
        if (!statuses.length) throw new ApexError('Choose at least one eligible authorization status.');
        const validation = await this.validate(input.definition);
        if (!validation.valid) {
            const summary = validation.errors
                .map((error) =>
                    error.conditionIndex == null || error.code.startsWith('LOGIC_')
                        ? error.message
                        : `Condition ${error.conditionIndex}: ${error.message}`
                )
                .join(' ');
            throw new ApexError(`The conditions are not valid. ${summary}`);
        }
        const fields = {
            Name: name,
            Description__c: text(input.description),
            Active__c: input.active === true,
            Products__c: products.join(';'),
            Eligible_Statuses__c: statuses.join(';'),
            Definition__c: text(input.definition)
        };
        if (fields.Active__c) await this.requireUniqueActiveName(name, existing ?? null);
        const undo: (() => Promise<unknown>)[] = [];
        let setId: string;
        try {
            if (existing) {
                const previous = await this.findConditionSet(existing);
                await this.org.update('Condition_Set__c', existing, fields);
                undo.push(() =>
                    this.org.update('Condition_Set__c', existing, {
                        Name: previous.Name,
                        Description__c: previous.Description__c ?? null,
                        Active__c: previous.Active__c === true,
                        Products__c: previous.Products__c ?? null,
                        Eligible_Statuses__c: previous.Eligible_Statuses__c ?? null,
                        Definition__c: previous.Definition__c ?? null
                    })
                );
                setId = existing;
            } else {
                const created = await this.org.create('Condition_Set__c', fields);
                undo.push(() => this.org.remove('Condition_Set__c', created));
                setId = created;
            }
        } catch (error) {
            throw new ApexError(`The condition set could not be saved: ${(error as Error).message}`);
        }
        if (grants) {
            try {
                await this.connections().applyAccessGrants(grants, setId, undo);
            } catch (error) {
                // Newest first, each tried even when one fails: as much as the REST API allows of a rollback.
                for (const takeBack of undo.reverse()) await takeBack().catch(() => undefined);
                throw new ApexError(
                    `The access could not be saved, so the condition set was not saved either: ${(error as Error).message}`
                );
            }
        }
        return setId;
    }

    /** As ConditionSetController.grantsSomething when the call carries no grants: the saved set has some. */
    private async hasGrants(conditionSetId: string | null): Promise<boolean> {
        if (!conditionSetId) return false;
        const grants = await this.org.query(
            `SELECT Id FROM Access_Grant__c WHERE Condition_Set__c = ${soqlQuote(conditionSetId)} LIMIT 1`
        );
        return grants.length > 0;
    }

    /** As ConditionSetController.getConditionSetCopy: a copy for the editor, not written until saved. */
    private async getConditionSetCopy(conditionSetId: string) {
        const original = await this.findConditionSet(conditionSetId);
        return conditionSetRow({
            Name: `${COPY_PREFIX}${String(original.Name)}`.slice(0, NAME_MAX_LENGTH),
            Description__c: original.Description__c,
            Active__c: false,
            Products__c: original.Products__c,
            Eligible_Statuses__c: original.Eligible_Statuses__c,
            Definition__c: original.Definition__c
        });
    }

    /** As ConditionSetController.requireUniqueActiveName: SOQL's = ignores case. */
    private async requireUniqueActiveName(name: string, ownId: string | null) {
        const namesakes = await this.org.query(
            `SELECT Id, Name FROM Condition_Set__c WHERE Active__c = true${ownId ? ` AND Id != ${soqlQuote(ownId)}` : ''}`
        );
        if (namesakes.some((record) => String(record.Name).toLowerCase() === name.toLowerCase())) {
            throw new ApexError(
                `Another active condition set is named "${name}". Give this set a different name, or deactivate the other set first.`
            );
        }
    }

    private async deleteConditionSet(conditionSetId: string) {
        await this.findConditionSet(conditionSetId);
        try {
            await this.org.remove('Condition_Set__c', conditionSetId);
        } catch (error) {
            throw new ApexError(`The condition set could not be deleted: ${(error as Error).message}`);
        }
        return null;
    }

    // ProvisioningController and RunHistoryController (ProvisioningRuns)

    private async findRun(runId: string): Promise<RunSummary> {
        const [run] = await this.org.query(
            `SELECT ${RUN_FIELDS} FROM Provisioning_Run__c WHERE Id = ${soqlQuote(runId)}`
        );
        if (!run)
            throw new ApexError(`The provisioning run ${runId} was not found. It may have been deleted.`);
        return runSummary(run, this.now());
    }

    private async runInProgress() {
        const [run] = await this.org.query(
            `SELECT Id FROM Provisioning_Run__c WHERE Status__c IN ('Queued', 'Running') ORDER BY CreatedDate DESC LIMIT 1`
        );
        return run ? this.findRun(String(run.Id)) : null;
    }

    private async currentPreview() {
        const since = new Date(this.now().getTime() - RESUMABLE_PREVIEW_HOURS * 3600_000).toISOString();
        const [run] = await this.org.query(
            `SELECT Id FROM Provisioning_Run__c WHERE Initiated_By__c = ${soqlQuote(this.adminUserId)} ` +
                `AND Trigger__c = 'Manual' AND Status__c IN ('Previewing', 'Previewed') AND Purpose__c != 'Schedule Check' AND CreatedDate >= ${since} ` +
                'ORDER BY CreatedDate DESC LIMIT 1'
        );
        if (!run) return null;
        const latest = await this.findRun(String(run.Id));
        return latest.previewing || latest.freshPreview ? latest : null;
    }

    private async callService<T>(method: string, path: string, body?: unknown): Promise<T> {
        let response: Response;
        try {
            response = await fetch(`${this.service.url}${path}`, {
                method,
                headers: {
                    Authorization: `Bearer ${this.service.secret}`,
                    'Content-Type': 'application/json'
                },
                body: body === undefined ? undefined : JSON.stringify(body)
            });
        } catch (error) {
            throw new ApexError(`The Rollcall service could not be reached: ${(error as Error).message}`);
        }
        const payload = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
        if (!response.ok)
            throw new ApexError(
                payload.error?.message ?? `The Rollcall service answered ${response.status}.`
            );
        return payload;
    }

    private async startPreview(purpose?: 'schedule-check') {
        const accepted = await this.callService<{ runId?: string }>('POST', '/v1/previews', {
            initiatedBy: this.adminUserId,
            ...(purpose ? { purpose } : {})
        });
        return this.findRun(this.acceptedRunId(accepted));
    }

    private acceptedRunId(accepted: { runId?: string }): string {
        if (!accepted.runId || !ID_PATTERN.test(accepted.runId)) {
            throw new ApexError(
                'The Rollcall service accepted the request but named no run to follow. Check the service version and its logs.'
            );
        }
        return accepted.runId;
    }

    private async provisionUsers(params: Params) {
        const recipients = normalizeRecipients(params.recipients);
        const previewRunId = id(params.previewRunId, 'the preview');
        const preview = await this.findRun(previewRunId);
        if (!preview.freshPreview) {
            throw new ApexError(
                `This preview can no longer be provisioned (${preview.status}). Preview the users again.`
            );
        }
        const accepted = await this.callService<{ runId?: string }>('POST', '/v1/runs', {
            previewRunId,
            initiatedBy: this.adminUserId,
            notify: { admins: params.notifyAdmins === true, recipients }
        });
        return this.findRun(this.acceptedRunId(accepted));
    }

    private async getRunStatus(runId: string, includeServiceProgress: boolean) {
        const run = await this.findRun(runId);
        const working = (run.previewing && !run.stalled) || run.inProgress;
        if (includeServiceProgress && working) {
            try {
                const serviceRun = await this.callService<{
                    progress?: {
                        done?: number;
                        total?: number;
                        actions?: { done?: number; failed?: number; total?: number };
                    };
                }>('GET', `/v1/runs/${runId}`);
                if (serviceRun.progress) {
                    run.progressDone = serviceRun.progress.done ?? null;
                    run.progressTotal = serviceRun.progress.total ?? null;
                    const actions = serviceRun.progress.actions;
                    if (actions) {
                        run.actionsDone = actions.done ?? null;
                        run.actionsFailed = actions.failed ?? null;
                        run.actionsTotal = actions.total ?? null;
                    }
                }
            } catch {
                // As in Apex: no progress from the service is not an error of the screen.
            }
        }
        return run;
    }

    private async getRuns(maxRuns: unknown, includePreviews: boolean) {
        const requested = Number(maxRuns);
        const count =
            !Number.isFinite(requested) || requested < 1
                ? DEFAULT_RUN_COUNT
                : Math.min(Math.trunc(requested), MAX_RUN_COUNT);
        const runs = await this.org.query(
            `SELECT ${RUN_FIELDS} FROM Provisioning_Run__c WHERE Purpose__c != 'Schedule Check'${
                includePreviews
                    ? ''
                    : ` AND Status__c NOT IN (${PREVIEW_ONLY_STATUSES.map(soqlQuote).join(', ')})`
            } ORDER BY CreatedDate DESC LIMIT ${count}`
        );
        const now = this.now();
        return runs.map((run) => runSummary(run, now));
    }

    private async itemPage(
        runId: string,
        runStatus: string | null,
        afterId: string | null,
        onlyProblems: boolean,
        search: string | null = null
    ) {
        let soql = `SELECT ${ITEM_FIELDS} FROM Provisioning_Run_Item__c WHERE Run__c = ${soqlQuote(runId)}`;
        if (afterId) soql += ` AND Id > ${soqlQuote(afterId)}`;
        if (onlyProblems) soql += ` AND Status__c IN (${PROBLEM_STATUSES.map(soqlQuote).join(', ')})`;
        const pattern = searchPattern(search);
        if (pattern) {
            // As ProvisioningRuns: the searchable text columns, LIKE comparing without regard to case.
            soql +=
                ` AND (User__r.Name LIKE ${pattern} OR Email__c LIKE ${pattern}` +
                ` OR Matched_Sets__c LIKE ${pattern} OR Reason__c LIKE ${pattern})`;
        }
        soql += ` ORDER BY Id ASC LIMIT ${ITEM_PAGE_SIZE + 1}`;
        const records = await this.org.query(soql);
        const page = records.slice(0, ITEM_PAGE_SIZE);
        // Once the run has finished, Current Status is each product's status now (one query for the page).
        const statusNow = FINISHED.includes(runStatus ?? '') ? await this.statusesNow(page) : undefined;
        const items = page.map((record) => itemRow(record, runStatus, statusNow));
        return {
            items,
            hasMore: records.length > ITEM_PAGE_SIZE,
            lastId: items.length ? items[items.length - 1].id : afterId
        };
    }

    private async statusesNow(records: OrgRecord[]): Promise<Map<string, string>> {
        const userIds = [
            ...new Set(records.map((record) => text(record.User__c)).filter(Boolean))
        ] as string[];
        const statuses = new Map<string, string>();
        if (userIds.length === 0) return statuses;
        const rows = await this.org.query(
            `SELECT User__c, Product__c, Status__c FROM Calendar_Authorization__c WHERE User__c IN (${userIds.map(soqlQuote).join(', ')})`
        );
        for (const row of rows)
            statuses.set(`${String(row.User__c)}:${String(row.Product__c)}`, String(row.Status__c));
        return statuses;
    }

    private async getRunItems(params: Params) {
        const runId = id(params.runId, 'the run');
        const run = await this.findRun(runId);
        return this.itemPage(
            runId,
            run.status,
            optionalId(params.afterId, 'the last item'),
            params.onlyProblems === true,
            params.search == null ? null : String(params.search)
        );
    }

    private async detail(runId: string) {
        const run = await this.findRun(runId);
        const firstPage = await this.itemPage(runId, run.status, null, false);
        const all = await this.org.query(
            `SELECT Status__c, Matched_Sets__c, Products__c, Kind__c FROM Provisioning_Run_Item__c WHERE Run__c = ${soqlQuote(runId)}`
        );
        const byOutcome = new Map<string, number>();
        const bySet = new Map<string, number>();
        const byProduct = new Map<string, number>();
        let overlapCount = 0;
        for (const item of all) {
            add(byOutcome, outcome(text(item.Status__c), run.status, item.Kind__c));
            const sets = String(item.Matched_Sets__c ?? '')
                .split(/\s*;\s*/)
                .map((name) => name.trim())
                .filter(Boolean);
            for (const name of sets) add(bySet, name);
            if (sets.length > 1) overlapCount++;
            for (const product of new Set(splitMultiSelect(item.Products__c))) add(byProduct, product);
        }
        const [snapshot] = await this.org.query(
            `SELECT Condition_Sets_Snapshot__c FROM Provisioning_Run__c WHERE Id = ${soqlQuote(runId)}`
        );
        return {
            run,
            items: firstPage.items,
            hasMoreItems: firstPage.hasMore,
            lastItemId: firstPage.lastId,
            totalItems: all.length,
            overlapCount,
            productTotals: toTotals(byProduct),
            setTotals: toTotals(bySet),
            setTotalsPartial: false,
            statusTotals: toTotals(byOutcome),
            skippedSets: skippedSets(snapshot?.Condition_Sets_Snapshot__c)
        };
    }

    // ScheduledProvisioningController

    private async settingsRecord(): Promise<OrgRecord> {
        const rows = await this.org.query(`SELECT ${SETTINGS_FIELDS} FROM Rollcall_Settings__c`);
        return rows.find((row) => String(row.SetupOwnerId ?? '').startsWith('00D')) ?? {};
    }

    private async orgTimeZone(): Promise<string> {
        const [organization] = await this.org.query('SELECT Id, TimeZoneSidKey FROM Organization LIMIT 1');
        return typeof organization?.TimeZoneSidKey === 'string' ? organization.TimeZoneSidKey : 'UTC';
    }

    private async settingsDto(record: OrgRecord) {
        const timeZone = await this.orgTimeZone();
        const pattern = cronPattern(record as SettingsRecord);
        const next = pattern
            ? new Cron(pattern, { timezone: timeZone, paused: true }).nextRun(this.now())
            : null;
        const recipients =
            typeof record.Recipients__c === 'string' && record.Recipients__c.trim()
                ? record.Recipients__c.split(/[,;\s]+/)
                : [];
        return {
            frequency:
                typeof record.Schedule_Frequency__c === 'string' && record.Schedule_Frequency__c
                    ? record.Schedule_Frequency__c
                    : 'Daily',
            scheduleTime: text(record.Schedule_Time__c),
            day: text(record.Schedule_Day__c),
            recipients,
            slackChannel: text(record.Slack_Channel__c),
            notifyAdmins: record.Notify_Admins__c === true,
            enabled: record.Schedule_Enabled__c === true,
            reminderDays: Math.floor(Number(record.Reminder_Days__c ?? 0)),
            reminderMax: Math.floor(Number(record.Reminder_Max__c ?? 0)),
            slackConfigured: null as boolean | null,
            timeZone,
            nextRunAt: next ? next.toISOString() : null
        };
    }

    private async getSettings() {
        const dto = await this.settingsDto(await this.settingsRecord());
        // As Apex: whether the service has a Slack token (GET /v1/status); null when it cannot be asked.
        const status = await this.callService<{ slack?: { configured?: boolean } }>(
            'GET',
            '/v1/status'
        ).catch(() => undefined);
        dto.slackConfigured = status?.slack ? status.slack.configured === true : null;
        return dto;
    }

    private async saveSettings(settings: Params | null) {
        const frequency = typeof settings?.frequency === 'string' ? settings.frequency : '';
        if (!settings || !FREQUENCIES.includes(frequency))
            throw new ApexError('Choose how often to provision: Hourly, Daily or Weekly.');
        const scheduleTime = text(settings.scheduleTime);
        if (frequency !== 'Hourly' && (scheduleTime == null || !TIME_PATTERN.test(scheduleTime))) {
            throw new ApexError('Enter the time of day as HH:MM (24-hour), for example 07:30.');
        }
        const day = text(settings.day);
        if (frequency === 'Weekly' && !DAYS.includes(day ?? ''))
            throw new ApexError('Choose the day of the week.');
        const slackChannel = typeof settings.slackChannel === 'string' ? settings.slackChannel.trim() : '';
        if (slackChannel && !SLACK_CHANNEL_PATTERN.test(slackChannel)) {
            throw new ApexError(
                'Enter the Slack channel as #channel-name (lowercase) or a channel ID such as C0123456789.'
            );
        }
        const reminderDays = settings.reminderDays == null ? 0 : Number(settings.reminderDays);
        if (!Number.isInteger(reminderDays) || reminderDays < 0 || reminderDays > 90)
            throw new ApexError('Send reminders after 1 to 90 days, or 0 for no reminders.');
        const reminderMax = settings.reminderMax == null ? 0 : Number(settings.reminderMax);
        if (!Number.isInteger(reminderMax) || reminderMax < 0 || reminderMax > 10)
            throw new ApexError('Send at most 10 reminders per invitation, or 0 for no reminders.');
        const recipients = normalizeRecipients(settings.recipients).join(', ');
        if (recipients.length > RECIPIENTS_MAX_LENGTH) {
            throw new ApexError(
                `The recipients are too long (${RECIPIENTS_MAX_LENGTH} characters at most). Use a distribution list.`
            );
        }
        const fields = {
            Schedule_Frequency__c: frequency,
            Schedule_Time__c: frequency === 'Hourly' ? null : scheduleTime,
            Schedule_Day__c: frequency === 'Weekly' ? day : null,
            Recipients__c: recipients,
            Slack_Channel__c: slackChannel || null,
            Notify_Admins__c: settings.notifyAdmins === true,
            Reminder_Days__c: reminderDays,
            Reminder_Max__c: reminderMax,
            Schedule_Enabled__c: settings.enabled === true
        };
        const record = await this.settingsRecord();
        try {
            if (record.Id) await this.org.update('Rollcall_Settings__c', String(record.Id), fields);
            else await this.org.create('Rollcall_Settings__c', { SetupOwnerId: this.orgId, ...fields });
        } catch (error) {
            throw new ApexError(`The settings could not be saved: ${(error as Error).message}`);
        }
        return this.settingsDto({ ...record, ...fields });
    }
}

function skippedSets(snapshotJson: unknown): { name: string; reasons: string }[] {
    try {
        const snapshot = JSON.parse(String(snapshotJson)) as {
            invalid?: { name: string; reasons: unknown[] }[];
        };
        return (snapshot.invalid ?? []).map((set) => ({
            name: set.name,
            reasons: set.reasons.map(String).join(' ')
        }));
    } catch {
        return [];
    }
}
