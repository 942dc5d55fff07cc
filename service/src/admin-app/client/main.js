/**
 * The admin app outside an org: mounts c-rollcall-app from force-app as Lightning Experience would, and
 * shows the toasts the components raise (Lightning Experience's toast host does this in an org).
 */
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import RollcallApp from 'c/rollcallApp';

const TOAST_MILLIS = { success: 4000, info: 4000, warning: 8000, error: 12000 };
const ICONS = { success: 'success', info: 'info', warning: 'warning', error: 'error' };

function showToast({ title, message, variant }) {
    const kind = ICONS[variant] ? variant : 'info';
    const region = document.getElementById('toasts');
    const toast = document.createElement('div');
    toast.className = `slds-notify slds-notify_toast slds-theme_${kind}`;
    toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const content = document.createElement('div');
    content.className = 'slds-notify__content';
    const heading = document.createElement('h2');
    heading.className = 'slds-text-heading_small';
    heading.textContent = title ?? '';
    content.appendChild(heading);
    if (message) {
        const text = document.createElement('p');
        text.textContent = message;
        content.appendChild(text);
    }
    const close = document.createElement('button');
    close.className = 'slds-button slds-button_icon slds-notify__close slds-button_icon-inverse';
    close.textContent = '×';
    close.title = 'Close';
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', () => toast.remove());
    toast.append(content, close);
    region.appendChild(toast);
    setTimeout(() => toast.remove(), TOAST_MILLIS[kind]);
}

document.addEventListener('lightning__showtoast', (event) => showToast(event.detail ?? {}));

const app = createElement('c-rollcall-app', { is: RollcallApp });
document.getElementById('main').appendChild(app);
