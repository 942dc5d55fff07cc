/** `lightning/platformShowToastEvent` outside an org: the event the platform's toast host listens for. */
export class ShowToastEvent extends CustomEvent {
    constructor(toast) {
        super('lightning__showtoast', { bubbles: true, composed: true, cancelable: true, detail: toast });
    }
}
