/** What counts as one email address, for recipients and invitations alike (no display names, no lists). */
const ADDRESS =
    /^[^\s@<>,;"()[\]\\]+@[^\s@<>,;"()[\]\\]+\.[^\s@<>,;"()[\]\\]+$|^[^\s@<>,;"()[\]\\]+@localhost$/;

export function isValidAddress(address: string): boolean {
    return address.length <= 254 && ADDRESS.test(address);
}
