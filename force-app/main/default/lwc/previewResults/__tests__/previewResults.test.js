import { createElement } from 'lwc';
import PreviewResults, { SEARCH_DELAY_MS } from 'c/previewResults';
import getRunItems from '@salesforce/apex/RunHistoryController.getRunItems';
import explainUser from '@salesforce/apex/RunHistoryController.explainUser';

const mockRunDetail = require('./data/runDetail.json');

jest.mock('@salesforce/apex/RunHistoryController.getRunItems', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/RunHistoryController.explainUser', () => ({ default: jest.fn() }), {
    virtual: true
});

async function flushPromises() {
    for (let i = 0; i < 4; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function showMore(element) {
    return element.shadowRoot.querySelector('lightning-button.show-more');
}

function createResults(props) {
    const element = createElement('c-preview-results', { is: PreviewResults });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

/** The admin types in the search box (lightning-input's change event, at each key). */
function typeSearch(element, value) {
    const search = element.shadowRoot.querySelector('lightning-input.search-users');
    search.value = value;
    search.dispatchEvent(new CustomEvent('change'));
}

function shownNames(element) {
    return element.shadowRoot.querySelector('lightning-datatable').data.map((row) => row.userName);
}

function summary(element) {
    return element.shadowRoot.querySelector('.search-summary').textContent;
}

/** A run with more users than the first page holds. */
const PAGED_DETAIL = {
    ...mockRunDetail,
    totalItems: 5000,
    hasMoreItems: true,
    lastItemId: 'a02000000000002AAA'
};
const JANE = {
    ...mockRunDetail.items[0],
    id: 'a02000000000900AAA',
    userId: '005000000000900AAA',
    userName: 'Jane Doe',
    email: 'jane@example.com'
};

function texts(element, selector) {
    return [...element.shadowRoot.querySelectorAll(selector)].map((node) => node.textContent);
}

describe('c-preview-results', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('shows the totals, the overlaps and the eligible users', () => {
        const element = createResults({ detail: mockRunDetail });
        expect(element.shadowRoot.querySelector('.total-users').textContent).toBe('3');
        expect(element.shadowRoot.querySelector('.overlaps').textContent).toBe('1');
        expect(texts(element, '.product-totals li')).toEqual(['Meeting Links: 1', 'Round Robin: 3']);
        expect(texts(element, '.set-totals li')).toEqual(['EMEA sales managers: 3', 'Support agents: 1']);
        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data).toHaveLength(2);
        expect(table.columns.map((column) => column.label)).toEqual([
            'Name',
            'Email',
            'Products',
            'Matched Sets',
            'Current Status',
            undefined
        ]);
        expect(table.columns[5].typeAttributes.label).toBe('Why');
        // An email cell does not wrap: its column is sized for a whole address.
        expect(table.columns[1].initialWidth).toBeGreaterThanOrEqual(240);
        expect(element.shadowRoot.querySelector('.truncated').textContent).toBe(
            'Showing the first 2 of 3 users.'
        );
        expect(element.shadowRoot.querySelector('.status-totals')).toBeNull();
    });

    it('names the condition sets the run skipped and why', () => {
        const element = createResults({ detail: mockRunDetail });
        const skipped = texts(element, '.skipped-sets li');
        expect(skipped).toHaveLength(1);
        expect(skipped[0]).toContain('Legacy contractors');
        expect(skipped[0]).toContain('is not a User field');
    });

    it('adds the outcome and reason columns and the outcome totals for a run', () => {
        const element = createResults({ detail: mockRunDetail, showOutcome: true });
        const labels = element.shadowRoot.querySelector('lightning-datatable').columns.map((c) => c.label);
        expect(labels).toContain('Outcome');
        expect(labels).toContain('Reason');
        expect(texts(element, '.status-totals li')).toEqual(['To invite: 3']);
    });

    it('shows a preview item, which has no status yet, as to invite with its current status per product', () => {
        const element = createResults({ detail: mockRunDetail, showOutcome: true });
        const table = element.shadowRoot.querySelector('lightning-datatable');
        const outcome = table.columns.find((column) => column.label === 'Outcome');
        const current = table.columns.find((column) => column.label === 'Current Status');
        expect(table.data.map((row) => row[outcome.fieldName])).toEqual(['To invite', 'To invite']);
        expect(table.data[0][current.fieldName]).toBe('Meeting Links: Expired, Round Robin: Not Invited');
    });

    it('falls back to the status, then to "To invite", when Apex sends no outcome', () => {
        const items = [
            { ...mockRunDetail.items[0], outcome: undefined, status: 'Invited' },
            { ...mockRunDetail.items[1], outcome: undefined, status: undefined }
        ];
        const element = createResults({ detail: { ...mockRunDetail, items }, showOutcome: true });
        const rows = element.shadowRoot.querySelector('lightning-datatable').data;
        expect(rows.map((row) => row.outcome)).toEqual(['Invited', 'To invite']);
    });

    it('shows an empty state when no user is eligible', () => {
        const element = createResults({
            detail: {
                ...mockRunDetail,
                items: [],
                totalItems: 0,
                overlapCount: 0,
                productTotals: [],
                setTotals: [],
                skippedSets: []
            }
        });
        expect(element.shadowRoot.querySelector('.empty-state')).not.toBeNull();
        expect(element.shadowRoot.querySelector('lightning-datatable')).toBeNull();
        expect(element.shadowRoot.querySelector('.total-users').textContent).toBe('0');
        expect(element.shadowRoot.querySelector('.skipped-sets')).toBeNull();
    });

    it('loads the next page of users from the org when the admin asks for more', async () => {
        const firstPage = { ...mockRunDetail, hasMoreItems: true, lastItemId: 'a02000000000002AAA' };
        const third = { ...mockRunDetail.items[0], id: 'a02000000000003AAA', userName: 'Ada Lovelace' };
        getRunItems.mockResolvedValue({ items: [third], hasMore: false, lastId: third.id });
        const element = createResults({ detail: firstPage });
        expect(getRunItems).not.toHaveBeenCalled();
        showMore(element).click();
        await flushPromises();
        expect(getRunItems).toHaveBeenCalledWith({
            runId: 'a01000000000001AAA',
            afterId: 'a02000000000002AAA',
            onlyProblems: false
        });
        const rows = element.shadowRoot.querySelector('lightning-datatable').data;
        expect(rows.map((row) => row.userName)).toEqual(['Grace Hopper', 'Alan Turing', 'Ada Lovelace']);
        expect(showMore(element)).toBeNull();
        expect(element.shadowRoot.querySelector('.truncated')).toBeNull();
    });

    it('reads only the skipped and failed users of the whole run from the org', async () => {
        const failed = { ...mockRunDetail.items[1], status: 'Failed', outcome: 'Failed' };
        getRunItems.mockResolvedValue({ items: [failed], hasMore: true, lastId: failed.id });
        const element = createResults({
            detail: { ...mockRunDetail, statusTotals: [{ label: 'Failed', count: 40 }] },
            showOutcome: true,
            problemsOnly: true
        });
        await flushPromises();
        expect(getRunItems).toHaveBeenCalledWith({
            runId: 'a01000000000001AAA',
            afterId: null,
            onlyProblems: true
        });
        expect(element.shadowRoot.querySelector('lightning-datatable').data).toHaveLength(1);
        expect(element.shadowRoot.querySelector('.truncated').textContent).toBe(
            'Showing the first 1 of 40 users.'
        );
        showMore(element).click();
        await flushPromises();
        expect(getRunItems).toHaveBeenLastCalledWith({
            runId: 'a01000000000001AAA',
            afterId: failed.id,
            onlyProblems: true
        });
        element.problemsOnly = false;
        await flushPromises();
        expect(element.shadowRoot.querySelector('lightning-datatable').data).toHaveLength(2);
    });

    it('shows the error when more users cannot be loaded', async () => {
        getRunItems.mockRejectedValue({ body: { message: 'The provisioning run was not found.' } });
        const element = createResults({
            detail: { ...mockRunDetail, hasMoreItems: true, lastItemId: 'a02000000000002AAA' }
        });
        showMore(element).click();
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain('not found');
        expect(element.shadowRoot.querySelector('lightning-datatable').data).toHaveLength(2);
    });

    it('says when the set totals are a lower bound', () => {
        const element = createResults({ detail: { ...mockRunDetail, setTotalsPartial: true } });
        expect(element.shadowRoot.querySelector('.set-totals-partial')).not.toBeNull();
    });

    it('is accessible', async () => {
        const element = createResults({ detail: mockRunDetail, showOutcome: true });
        await expect(element).toBeAccessible();
    });

    it('explains a user on "Why" in a dialog, in the admin\'s words, with focus in it', async () => {
        explainUser.mockResolvedValue({
            userName: 'Ada Lovelace',
            active: true,
            timeZone: 'America/Los_Angeles',
            sets: [
                {
                    name: 'Sales managers',
                    valid: true,
                    matched: false,
                    logic: '1 AND 2 AND 3',
                    conditions: [
                        {
                            label: '1. UserRole.Name startsWith EMEA',
                            conditionNumber: 1,
                            field: 'UserRole.Name',
                            fieldLabel: 'Role Name',
                            fieldType: 'string',
                            operator: 'startsWith',
                            value: 'EMEA',
                            actual: 'AMER Sales',
                            outcome: false
                        },
                        {
                            label: '2. CreatedDate withinLastDays 180',
                            conditionNumber: 2,
                            field: 'CreatedDate',
                            fieldLabel: 'Created Date',
                            fieldType: 'datetime',
                            operator: 'withinLastDays',
                            value: '180',
                            actual: '2026-11-30T19:38:14.925+0000',
                            outcome: true
                        },
                        {
                            label: '3. Title isNull',
                            conditionNumber: 3,
                            field: 'Title',
                            fieldLabel: 'Title',
                            fieldType: 'string',
                            operator: 'isNotNull',
                            value: null,
                            actual: '(empty)',
                            outcome: false
                        }
                    ]
                }
            ],
            products: [
                {
                    product: 'Round Robin',
                    status: 'Not Invited',
                    eligible: false,
                    reasons: 'did not match set "Sales managers"'
                },
                { product: 'Routing', status: 'Invited', eligible: false, reasons: '' }
            ]
        });
        const element = createResults({ detail: mockRunDetail });
        const table = element.shadowRoot.querySelector('lightning-datatable');
        const row = table.data[0];

        table.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: 'why' }, row } }));
        await flushPromises();

        expect(explainUser).toHaveBeenCalledWith({ userId: row.userId });
        const dialog = element.shadowRoot.querySelector('section[role="dialog"]');
        expect(dialog.getAttribute('aria-modal')).toBe('true');
        const title = element.shadowRoot.querySelector('.explanation-title');
        expect(title.textContent.trim()).toBe('Why Ada Lovelace');
        expect(element.shadowRoot.activeElement).toBe(title);
        expect(texts(element, '.explained-set p')).toEqual([
            'Sales managers: not matched (conditions 1 AND 2 AND 3)'
        ]);
        expect(texts(element, '.explained-condition')).toEqual([
            'Role Name starts with "EMEA": the user\'s is "AMER Sales". Not met.',
            'Created Date within the last 180 days: the user\'s is "Nov 30, 2026, 11:38 AM PST". Met.',
            "Title is not blank: the user's is blank. Not met."
        ]);
        expect(texts(element, '.explained-products li')).toEqual([
            'Round Robin: not eligible (status Not Invited): did not match set "Sales managers".',
            'Routing: not eligible (status Invited).'
        ]);
        await expect(element).toBeAccessible();

        dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
        await flushPromises();
        expect(element.shadowRoot.querySelector('section[role="dialog"]')).toBeNull();
    });

    it('closes "Why" with its Close button', async () => {
        explainUser.mockResolvedValue({ userName: 'Ada Lovelace', sets: [], products: [] });
        const element = createResults({ detail: mockRunDetail });
        const table = element.shadowRoot.querySelector('lightning-datatable');
        table.dispatchEvent(
            new CustomEvent('rowaction', { detail: { action: { name: 'why' }, row: table.data[0] } })
        );
        await flushPromises();
        element.shadowRoot.querySelector('button.close-explanation').click();
        await flushPromises();
        expect(element.shadowRoot.querySelector('section[role="dialog"]')).toBeNull();
    });

    it('finds a user by search and sorts the users by a column', async () => {
        const element = createResults({ detail: mockRunDetail, showOutcome: true });
        const table = element.shadowRoot.querySelector('lightning-datatable');
        const all = table.data.map((item) => item.userName);
        const wanted = all[all.length - 1];
        const search = element.shadowRoot.querySelector('lightning-input.search-users');
        search.value = wanted.toUpperCase();
        search.dispatchEvent(new CustomEvent('change'));
        await flushPromises();
        expect(table.data.map((item) => item.userName)).toEqual([wanted]);
        expect(element.shadowRoot.querySelector('.search-summary').textContent).toContain('1 user matches');

        search.value = '';
        search.dispatchEvent(new CustomEvent('change'));
        table.dispatchEvent(
            new CustomEvent('sort', { detail: { fieldName: 'userName', sortDirection: 'desc' } })
        );
        await flushPromises();
        expect(table.sortedBy).toBe('userName');
        expect(table.data.map((item) => item.userName)).toEqual(
            [...all].sort((a, b) => b.localeCompare(a, undefined, { sensitivity: 'base', numeric: true }))
        );
    });

    describe('search over every user of the run', () => {
        beforeEach(() => {
            jest.useFakeTimers();
        });

        it('when more users exist than are loaded, then the org is asked for the term once the admin pauses', async () => {
            // Arrange
            getRunItems.mockResolvedValue({ items: [JANE], hasMore: false, lastId: JANE.id });
            const element = createResults({ detail: PAGED_DETAIL });

            // Act
            typeSearch(element, 'j');
            typeSearch(element, 'ja');
            typeSearch(element, ' jane ');
            jest.advanceTimersByTime(SEARCH_DELAY_MS - 1);
            await flushPromises();

            // Assert: nothing asked while typing; the list stays, the summary says a search is coming
            expect(getRunItems).not.toHaveBeenCalled();
            expect(shownNames(element)).toEqual(['Grace Hopper', 'Alan Turing']);
            expect(summary(element)).toBe('Searching the users for "jane"…');

            // Act
            jest.advanceTimersByTime(1);
            await flushPromises();

            // Assert: one request, the last term, trimmed; its matches stand in for the list
            expect(getRunItems).toHaveBeenCalledTimes(1);
            expect(getRunItems).toHaveBeenCalledWith({
                runId: 'a01000000000001AAA',
                afterId: null,
                onlyProblems: false,
                search: 'jane'
            });
            expect(shownNames(element)).toEqual(['Jane Doe']);
            expect(summary(element)).toBe('1 user matches "jane".');
            expect(element.shadowRoot.querySelector('.truncated')).toBeNull();
            expect(showMore(element)).toBeNull();
            const summaryNode = element.shadowRoot.querySelector('.search-summary');
            expect(summaryNode.getAttribute('role')).toBe('status');
        });

        it('when the matches fill more than a page, then "Show more users" pages within the search, and sorting sorts them', async () => {
            // Arrange
            const ada = { ...JANE, id: 'a02000000000901AAA', userName: 'Ada Janeway' };
            const zoe = { ...JANE, id: 'a02000000000902AAA', userName: 'Zoe Jane' };
            getRunItems.mockResolvedValueOnce({ items: [zoe, JANE], hasMore: true, lastId: JANE.id });
            getRunItems.mockResolvedValueOnce({ items: [ada], hasMore: false, lastId: ada.id });
            const element = createResults({ detail: PAGED_DETAIL, problemsOnly: false });
            typeSearch(element, 'jane');
            jest.advanceTimersByTime(SEARCH_DELAY_MS);
            await flushPromises();
            expect(summary(element)).toBe(
                'The first 2 users matching "jane"; show more users for the others.'
            );

            // Act
            showMore(element).click();
            await flushPromises();
            const table = element.shadowRoot.querySelector('lightning-datatable');
            table.dispatchEvent(
                new CustomEvent('sort', { detail: { fieldName: 'userName', sortDirection: 'asc' } })
            );
            await flushPromises();

            // Assert
            expect(getRunItems).toHaveBeenLastCalledWith({
                runId: 'a01000000000001AAA',
                afterId: JANE.id,
                onlyProblems: false,
                search: 'jane'
            });
            expect(shownNames(element)).toEqual(['Ada Janeway', 'Jane Doe', 'Zoe Jane']);
            expect(summary(element)).toBe('3 users match "jane".');
        });

        it('when only the skipped and failed users are shown, then the org searches only them', async () => {
            // Arrange
            const failed = { ...JANE, status: 'Failed', outcome: 'Failed' };
            getRunItems.mockResolvedValue({ items: [failed], hasMore: true, lastId: failed.id });
            const element = createResults({
                detail: { ...PAGED_DETAIL, statusTotals: [{ label: 'Failed', count: 900 }] },
                showOutcome: true,
                problemsOnly: true
            });
            await flushPromises();

            // Act
            typeSearch(element, 'jane');
            jest.advanceTimersByTime(SEARCH_DELAY_MS);
            await flushPromises();

            // Assert
            expect(getRunItems).toHaveBeenLastCalledWith({
                runId: 'a01000000000001AAA',
                afterId: null,
                onlyProblems: true,
                search: 'jane'
            });
        });

        it('when every user is loaded, then the table filters them itself and the org is not asked', async () => {
            // Arrange
            const element = createResults({
                detail: { ...mockRunDetail, totalItems: 2, hasMoreItems: false }
            });

            // Act
            typeSearch(element, 'GRACE@');
            await flushPromises();
            jest.advanceTimersByTime(SEARCH_DELAY_MS * 2);
            await flushPromises();

            // Assert
            expect(getRunItems).not.toHaveBeenCalled();
            expect(shownNames(element)).toEqual(['Grace Hopper']);
            expect(summary(element)).toBe('1 user matches "GRACE@".');
        });

        it('when the search fails, then the error shows and the users shown stay', async () => {
            // Arrange
            getRunItems.mockRejectedValue({ body: { message: 'Search with at most 100 characters.' } });
            const element = createResults({ detail: PAGED_DETAIL });

            // Act
            typeSearch(element, 'jane');
            jest.advanceTimersByTime(SEARCH_DELAY_MS);
            await flushPromises();

            // Assert
            const panel = element.shadowRoot.querySelector('c-error-panel');
            expect(panel.errors.body.message).toBe('Search with at most 100 characters.');
            expect(panel.friendlyMessage).toBe('The users could not be searched');
            expect(shownNames(element)).toEqual(['Grace Hopper', 'Alan Turing']);
            expect(summary(element)).toBe('');
        });

        it("when the admin clears the box, then the run's list is back as it was, without asking the org", async () => {
            // Arrange
            getRunItems.mockResolvedValue({ items: [JANE], hasMore: false, lastId: JANE.id });
            const element = createResults({ detail: PAGED_DETAIL });
            typeSearch(element, 'jane');
            jest.advanceTimersByTime(SEARCH_DELAY_MS);
            await flushPromises();
            expect(shownNames(element)).toEqual(['Jane Doe']);

            // Act
            typeSearch(element, '');
            await flushPromises();

            // Assert
            expect(getRunItems).toHaveBeenCalledTimes(1);
            expect(shownNames(element)).toEqual(['Grace Hopper', 'Alan Turing']);
            expect(summary(element)).toBe('');
            expect(element.shadowRoot.querySelector('.truncated').textContent).toBe(
                'Showing the first 2 of 5000 users.'
            );
            expect(showMore(element)).not.toBeNull();
        });

        it('when a search finds nobody, then the box and the summary stay, with an empty table', async () => {
            // Arrange
            getRunItems.mockResolvedValue({ items: [], hasMore: false, lastId: null });
            const element = createResults({ detail: PAGED_DETAIL });

            // Act
            typeSearch(element, 'nobody');
            jest.advanceTimersByTime(SEARCH_DELAY_MS);
            await flushPromises();

            // Assert
            expect(element.shadowRoot.querySelector('lightning-input.search-users')).not.toBeNull();
            expect(shownNames(element)).toEqual([]);
            expect(summary(element)).toBe('0 users match "nobody".');
            expect(element.shadowRoot.querySelector('.empty-state')).toBeNull();
        });
    });
});
