import { LightningElement, api, wire } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getEditorOptions from '@salesforce/apex/ConditionSetController.getEditorOptions';
import getConditionSet from '@salesforce/apex/ConditionSetController.getConditionSet';
import getConditionSetCopy from '@salesforce/apex/ConditionSetController.getConditionSetCopy';
import validateDefinition from '@salesforce/apex/ConditionSetController.validateDefinition';
import saveConditionSet from '@salesforce/apex/ConditionSetController.saveConditionSet';
import checkImpact from '@salesforce/apex/ConditionSetController.checkImpact';
import ConfirmDialog from 'c/confirmDialog';

const STEP_DETAILS = 'details';
const STEP_CONDITIONS = 'conditions';
const NAME_MAX_LENGTH = 80;
/** A set grants products, access in other apps, or both (issue 19); never nothing. */
const NOTHING_GRANTED = 'Choose a product, or grant access in an app in the Access section.';
/** After an edit, the shown impact is checked again once the admin pauses. */
const IMPACT_REFRESH_DELAY_MS = 800;
/** The step 1 controls and the key of their error in detailErrors. */
const DETAIL_FIELDS = [
    { selector: 'lightning-input.name', error: 'name' },
    { selector: 'lightning-checkbox-group.products', error: 'products' },
    { selector: 'lightning-checkbox-group.statuses', error: 'statuses' }
];

/**
 * Create or edit a condition set in two steps: (1) name, description, products, eligible statuses;
 * (2) the conditions and the access in other apps. A set grants products, access or both: with no product
 * it needs at least one access grant, checked at Save (the grants are on step 2). Saving validates on the
 * client, then in Apex, then saves the set and its grants in one call: both are saved, or neither.
 */
export default class ConditionSetEditor extends LightningElement {
    /** The condition set to edit; empty to create one. */
    @api recordId;
    /** The set to start a new one from (Duplicate): its copy is created only when the admin saves. */
    @api copyOfId;

    step = STEP_DETAILS;
    name = '';
    description = '';
    active = true;
    products = [];
    eligibleStatuses = ['Not Invited'];
    definition;
    detailErrors = {};

    fields = [];
    productOptions = [];
    statusOptions = [];
    optionsLoaded = false;
    recordLoaded = false;
    isSaving = false;
    error;
    /** The service's answer for the draft: matched, alreadyGranted, overlaps, needsConfirmation. */
    impact;
    impactError;
    isCheckingImpact = false;
    /** A selector to focus after the next render: the step's first field when the step changes. */
    focusTarget;
    // Access grants (issue 19): the draft, kept here so Back and Next do not lose it.
    accessGrants;
    /** Shown at Save when the set grants neither a product nor access. */
    nothingGranted;

    nameMaxLength = NAME_MAX_LENGTH;
    steps = [
        { label: 'Details', value: STEP_DETAILS },
        { label: 'Conditions', value: STEP_CONDITIONS }
    ];

    @wire(getEditorOptions)
    wiredOptions({ data, error }) {
        if (data) {
            this.fields = data.fields;
            this.productOptions = data.products;
            this.statusOptions = data.statuses;
            this.optionsLoaded = true;
        } else if (error) {
            this.error = error;
        }
    }

    connectedCallback() {
        // The editor replaces the list (its Create button or a row menu had the focus): the Name field
        // takes the focus once drawn, as a record page's edit form does, so typing lands in it.
        this.focusTarget = 'lightning-input.name';
        if (this.recordId) {
            this.loadRecord(() => getConditionSet({ conditionSetId: this.recordId }));
        } else if (this.copyOfId) {
            this.loadRecord(() => getConditionSetCopy({ conditionSetId: this.copyOfId }));
        } else {
            this.recordLoaded = true;
        }
    }

    async loadRecord(read) {
        try {
            const record = await read();
            this.name = record.name;
            this.description = record.description || '';
            this.active = record.active;
            this.products = record.products || [];
            this.eligibleStatuses = record.eligibleStatuses || [];
            this.definition = record.definition;
            this.recordLoaded = true;
        } catch (error) {
            this.error = error;
        }
    }

    renderedCallback() {
        if (this.focusTarget) {
            const target = this.template.querySelector(this.focusTarget);
            if (target) {
                this.focusTarget = undefined;
                target.focus();
            }
        }
    }

    get title() {
        if (this.recordId) {
            return `Edit ${this.name || 'Condition Set'}`;
        }
        return this.copyOfId ? 'New Condition Set (a copy)' : 'New Condition Set';
    }

    get isLoading() {
        return !this.error && (!this.optionsLoaded || !this.recordLoaded);
    }

    get isDetailsStep() {
        return this.step === STEP_DETAILS;
    }

    get isConditionsStep() {
        return this.step === STEP_CONDITIONS;
    }

    handleNameChange(event) {
        this.name = event.detail.value;
        this.revalidateDetails();
    }

    handleDescriptionChange(event) {
        this.description = event.detail.value;
    }

    handleActiveChange(event) {
        this.active = event.detail.checked;
    }

    handleProductsChange(event) {
        this.products = [...event.detail.value];
        if (this.products.length) {
            this.nothingGranted = undefined;
        }
        this.revalidateDetails();
    }

    handleStatusesChange(event) {
        this.eligibleStatuses = [...event.detail.value];
        this.revalidateDetails();
    }

    revalidateDetails() {
        if (Object.keys(this.detailErrors).length) {
            this.detailErrors = this.computeDetailErrors();
            this.showDetailErrors();
        }
    }

    /**
     * The base components show each message under their field, mark it invalid and tie the message to it
     * for screen readers. Returns the first invalid field.
     */
    showDetailErrors() {
        let firstInvalid;
        DETAIL_FIELDS.forEach(({ selector, error }) => {
            const control = this.template.querySelector(selector);
            const message = this.detailErrors[error];
            if (control) {
                control.setCustomValidity(message || '');
                control.reportValidity();
                firstInvalid = firstInvalid || (message ? control : undefined);
            }
        });
        return firstInvalid;
    }

    computeDetailErrors() {
        const errors = {};
        if (!this.name || !this.name.trim()) {
            errors.name = 'Enter a name.';
        }
        if (!this.eligibleStatuses.length) {
            errors.statuses = 'Choose at least one status.';
        }
        return errors;
    }

    handleNext() {
        this.detailErrors = this.computeDetailErrors();
        const firstInvalid = this.showDetailErrors();
        if (firstInvalid) {
            firstInvalid.focus();
            return;
        }
        this.step = STEP_CONDITIONS;
        this.focusTarget = 'c-condition-builder';
    }

    handleBack() {
        const builder = this.template.querySelector('c-condition-builder');
        if (builder) {
            this.definition = builder.definition;
        }
        this.step = STEP_DETAILS;
        this.focusTarget = 'lightning-input.name';
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }

    /** The draft as the service's impact check and the save take it. */
    draft(definition) {
        return {
            id: this.recordId,
            name: (this.name || '').trim(),
            description: this.description,
            active: this.active,
            products: this.products,
            eligibleStatuses: this.eligibleStatuses,
            definition
        };
    }

    get impactSummary() {
        const impact = this.impact;
        if (!impact) {
            return undefined;
        }
        const users = (count) => `${count} ${count === 1 ? 'user' : 'users'}`;
        if (impact.matched === 0) {
            return 'Matches nobody right now.';
        }
        if (!this.products.length) {
            return `Matches ${users(impact.matched)} now.`;
        }
        return `Matches ${users(impact.matched)} now; ${impact.alreadyGranted} of them already get ${this.products.join(', ')} from other active sets.`;
    }

    get impactOverlaps() {
        return (this.impact?.overlaps || []).map((overlap) => ({
            key: overlap.setId || overlap.name,
            text: `${overlap.name}: ${overlap.users} ${overlap.users === 1 ? 'user' : 'users'} in common${overlap.products ? ` (also grants ${overlap.products})` : ''}`
        }));
    }

    get hasImpactOverlaps() {
        return this.impactOverlaps.length > 0;
    }

    /** Other active sets the check skipped (the org refused their query, or they are not valid), with why. */
    get impactInvalidSets() {
        return (this.impact?.invalidSets || []).map((invalid) => ({
            key: invalid.setId || invalid.name,
            name: invalid.name,
            reasons: invalid.reasons
        }));
    }

    get hasImpactInvalidSets() {
        return this.impactInvalidSets.length > 0;
    }

    get impactInvalidHeading() {
        const count = this.impactInvalidSets.length;
        return count === 1
            ? '1 other active set grants nothing right now: fix it or deactivate it.'
            : `${count} other active sets grant nothing right now: fix them or deactivate them.`;
    }

    /**
     * The conditions changed: a number already shown would be stale, so it is checked again once the admin
     * pauses, when the draft is complete (otherwise the old numbers go, and the button is there).
     */
    handleDefinitionChange() {
        if (!this.impact && !this.impactError) {
            return;
        }
        clearTimeout(this.impactRefreshTimer);
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.impactRefreshTimer = setTimeout(() => {
            const builder = this.template.querySelector('c-condition-builder');
            if (builder && builder.isComplete()) {
                this.checkImpactNow(builder.definition);
            } else {
                this.impact = undefined;
                this.impactError = undefined;
            }
        }, IMPACT_REFRESH_DELAY_MS);
    }

    disconnectedCallback() {
        clearTimeout(this.impactRefreshTimer);
    }

    /** Who the draft matches now and which sets already cover them (the service evaluates it; no save). */
    async handleCheckImpact() {
        if (this.isCheckingImpact) {
            return;
        }
        const builder = this.template.querySelector('c-condition-builder');
        if (!builder.validate()) {
            return;
        }
        await this.checkImpactNow(builder.definition);
    }

    async checkImpactNow(definition) {
        this.isCheckingImpact = true;
        this.impactError = undefined;
        try {
            this.impact = await checkImpact({ conditionSet: this.draft(definition) });
        } catch (error) {
            this.impact = undefined;
            this.impactError = error;
        } finally {
            this.isCheckingImpact = false;
        }
    }

    /** A set that matches nobody, or only users other sets already grant, is saved only once confirmed. */
    async confirmImpact(definition) {
        try {
            this.impact = await checkImpact({ conditionSet: this.draft(definition) });
        } catch (error) {
            // The warning is advice: a service that cannot answer does not block the save.
            this.impactError = error;
            return true;
        }
        if (!this.impact.needsConfirmation || !this.active) {
            return true;
        }
        const message =
            this.impact.matched === 0
                ? 'This set matches nobody right now. Save it anyway?'
                : `Every user this set matches (${this.impact.matched}) already gets ${this.products.join(', ')} from other active sets, so it adds nobody. Save it anyway?`;
        return ConfirmDialog.open({
            label: 'Save this condition set?',
            size: 'small',
            message,
            confirmLabel: 'Save Anyway'
        });
    }

    // Access grants (issue 19): begin
    handleAccessChange(event) {
        // The base components' own change events (a textarea's, a combobox's) bubble out of the section
        // composed, with their value: only the section's own event carries the grants.
        const grants = event.detail && event.detail.grants;
        if (!Array.isArray(grants)) {
            return;
        }
        this.accessGrants = grants;
        if (this.grantCount) {
            this.nothingGranted = undefined;
        }
    }

    /** The access grants of the draft (each names a connection once validated). */
    get grantCount() {
        return (this.accessGrants || []).length;
    }
    // Access grants (issue 19): end

    async handleSave() {
        // The Save button stays enabled while saving (a disabled button drops the focus to the page, and the
        // confirmation then has nothing to return it to); a second click is ignored here instead.
        if (this.isSaving) {
            return;
        }
        const builder = this.template.querySelector('c-condition-builder');
        if (!builder.validate()) {
            return;
        }
        // Access grants (issue 19): checked with the conditions, saved with the set in the same call.
        const access = this.template.querySelector('c-access-grant-editor');
        const toSave = access ? access.grantsToSave() : { valid: true, grants: null };
        if (!toSave.valid) {
            return;
        }
        const grants = toSave.grants;
        // Products or access, or both. Grants not known yet (null: still being read) are left to Apex, which
        // keeps the saved ones and checks them.
        if (!this.products.length && grants && !grants.length) {
            this.nothingGranted = NOTHING_GRANTED;
            return;
        }
        this.nothingGranted = undefined;
        const definition = builder.definition;
        this.isSaving = true;
        this.error = undefined;
        try {
            const validation = await validateDefinition({ definition });
            if (!validation.valid) {
                builder.setErrors(validation.errors);
                return;
            }
            if (!(await this.confirmImpact(definition))) {
                return;
            }
            const id = await saveConditionSet({
                conditionSet: {
                    id: this.recordId,
                    name: this.name.trim(),
                    description: this.description,
                    active: this.active,
                    products: this.products,
                    eligibleStatuses: this.eligibleStatuses,
                    definition,
                    grants
                }
            });
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Condition set saved',
                    message: `${this.name.trim()} was saved${this.active ? ' and is active' : ' (inactive)'}.`,
                    variant: 'success'
                })
            );
            this.dispatchEvent(new CustomEvent('saved', { detail: { id } }));
        } catch (error) {
            this.error = error;
        } finally {
            this.isSaving = false;
        }
    }
}
