#!/usr/bin/env bash
# Deploys force-app to a Salesforce org and prepares what the provisioning service needs:
#   1. deploys the source (sf project deploy start);
#   2. assigns Rollcall_Admin to you and, if given, Rollcall_Integration to the integration user;
#   3. points the Rollcall_Service Named Credential at the service, if --service-url is given;
#   4. creates the integration user's certificate and private key (openssl) for the JWT bearer flow,
#      and an API secret shared by the service and the Named Credential;
#   5. prints the steps that stay manual, with the values to use.
#
# Usage: npm run deploy:org -- --target-org <alias> [--integration-user <username>]
#            [--service-url https://rollcall.example.com] [--test-level RunLocalTests|NoTestRun]
#            [--cert-dir DIR] [--validate-only]
#
# The Salesforce CLI is not a dependency of this repository (it needs Node 22+ and a network):
# `sf` is used when it is on the PATH, otherwise `npx --yes @salesforce/cli@2`.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"

TARGET_ORG="${SF_TARGET_ORG:-}"
INTEGRATION_USER="${ROLLCALL_INTEGRATION_USER:-}"
SERVICE_URL="${ROLLCALL_SERVICE_URL:-}"
TEST_LEVEL="RunLocalTests"
CERT_DIR="${ROLLCALL_CERT_DIR:-$ROOT/.sf/rollcall-jwt}"
VALIDATE_ONLY=false
WAIT_MINUTES=30
PLACEHOLDER_URL="https://rollcall.example.com"

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --target-org | -o) TARGET_ORG="$2"; shift 2 ;;
        --integration-user) INTEGRATION_USER="$2"; shift 2 ;;
        --service-url) SERVICE_URL="$2"; shift 2 ;;
        --test-level) TEST_LEVEL="$2"; shift 2 ;;
        --cert-dir) CERT_DIR="$2"; shift 2 ;;
        --validate-only) VALIDATE_ONLY=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "Unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf 'deploy-org: %s\n' "$*" >&2; exit 1; }

if [[ -z "$TARGET_ORG" ]]; then
    fail "name the org: --target-org <alias> (log in first with: sf org login web --alias <alias>)"
fi
# Host, optional port and path only: the URL is written into XML with sed, so no &, #, <, quotes or query.
if [[ -n "$SERVICE_URL" && ! "$SERVICE_URL" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$ ]]; then
    fail "--service-url must be an https URL with a host and an optional path, e.g. https://rollcall.example.com"
fi
case "$TEST_LEVEL" in
    NoTestRun | RunLocalTests | RunAllTestsInOrg) ;;
    *) fail "--test-level must be NoTestRun, RunLocalTests or RunAllTestsInOrg" ;;
esac

if command -v sf > /dev/null 2>&1; then
    SF=(sf)
else
    echo "sf is not on the PATH; using npx --yes @salesforce/cli@2 (needs Node 22+ and a network)."
    SF=(npx --yes @salesforce/cli@2)
fi
command -v openssl > /dev/null 2>&1 || fail "openssl is needed to create the integration user's certificate"

json_field() {
    # Reads one field of `sf ... --json` output on stdin: json_field result.username
    node -e '
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => {
            const value = process.argv[1].split(".").reduce((object, key) => (object == null ? object : object[key]), JSON.parse(text));
            process.stdout.write(value == null ? "" : String(value));
        });
    ' "$1"
}

step "Checking the org $TARGET_ORG"
ORG_JSON="$("${SF[@]}" org display --target-org "$TARGET_ORG" --json 2> /dev/null || true)"
ADMIN_USERNAME="$(printf '%s' "$ORG_JSON" | json_field result.username || true)"
INSTANCE_URL="$(printf '%s' "$ORG_JSON" | json_field result.instanceUrl || true)"
if [[ -z "$ADMIN_USERNAME" ]]; then
    fail "not logged in to $TARGET_ORG. Run: ${SF[*]} org login web --alias $TARGET_ORG"
fi
echo "Deploying as $ADMIN_USERNAME to $INSTANCE_URL"

step "Deploying force-app ($TEST_LEVEL)"
DEPLOY_ACTION=(project deploy start)
if [[ "$VALIDATE_ONLY" == true ]]; then
    DEPLOY_ACTION=(project deploy validate)
fi
"${SF[@]}" "${DEPLOY_ACTION[@]}" --source-dir force-app --target-org "$TARGET_ORG" \
    --test-level "$TEST_LEVEL" --wait "$WAIT_MINUTES"
if [[ "$VALIDATE_ONLY" == true ]]; then
    echo "Validation only: nothing was deployed."
    exit 0
fi

assign_permset() {
    local name="$1" user="${2:-}"
    local args=(org assign permset --name "$name" --target-org "$TARGET_ORG")
    [[ -n "$user" ]] && args+=(--on-behalf-of "$user")
    local output
    if output="$("${SF[@]}" "${args[@]}" 2>&1)"; then
        echo "Assigned $name to ${user:-$ADMIN_USERNAME}."
    elif grep -qi "duplicate" <<< "$output"; then
        echo "$name was already assigned to ${user:-$ADMIN_USERNAME}."
    else
        printf '%s\n' "$output" >&2
        fail "could not assign $name to ${user:-$ADMIN_USERNAME}"
    fi
}

step "Assigning the permission sets"
assign_permset Rollcall_Admin
if [[ -n "$INTEGRATION_USER" ]]; then
    assign_permset Rollcall_Integration "$INTEGRATION_USER"
else
    echo "No --integration-user given: assign Rollcall_Integration to it later (see below)."
fi

if [[ -n "$SERVICE_URL" ]]; then
    step "Pointing the Rollcall_Service Named Credential at $SERVICE_URL"
    STAGE="$(mktemp -d)"
    trap 'rm -rf "$STAGE"' EXIT
    mkdir -p "$STAGE/force-app/main/default/namedCredentials"
    cp sfdx-project.json "$STAGE/"
    sed "s#$PLACEHOLDER_URL#${SERVICE_URL%/}#" \
        force-app/main/default/namedCredentials/Rollcall_Service.namedCredential-meta.xml \
        > "$STAGE/force-app/main/default/namedCredentials/Rollcall_Service.namedCredential-meta.xml"
    (cd "$STAGE" && "${SF[@]}" project deploy start --source-dir force-app --target-org "$TARGET_ORG" \
        --wait "$WAIT_MINUTES")
fi

step "Creating the integration user's certificate in $CERT_DIR"
mkdir -p "$CERT_DIR"
chmod 700 "$CERT_DIR"
KEY_FILE="$CERT_DIR/rollcall-integration.key"
CERT_FILE="$CERT_DIR/rollcall-integration.crt"
SECRET_FILE="$CERT_DIR/rollcall-api-secret"
if [[ -f "$KEY_FILE" && -f "$CERT_FILE" ]]; then
    echo "Keeping the existing certificate (delete $CERT_DIR to make a new one)."
else
    openssl req -x509 -newkey rsa:2048 -sha256 -days 730 -nodes \
        -keyout "$KEY_FILE" -out "$CERT_FILE" \
        -subj "/CN=Rollcall Integration/O=Rollcall" 2> /dev/null
    chmod 600 "$KEY_FILE"
    echo "Created $CERT_FILE (upload it to the connected app) and $KEY_FILE (the service's private key)."
fi
if [[ ! -f "$SECRET_FILE" ]]; then
    (umask 077 && openssl rand -base64 48 | tr -d '\n' > "$SECRET_FILE")
    echo "Created an API secret in $SECRET_FILE."
fi

NC_URL_STEP="Set the service URL: Setup > Named Credentials > Rollcall Service > Edit > URL (now $PLACEHOLDER_URL),
   or run this script again with --service-url. A deploy without --service-url puts the placeholder back."
[[ -n "$SERVICE_URL" ]] && NC_URL_STEP="The Named Credential points at ${SERVICE_URL%/}. Pass --service-url (or set
   ROLLCALL_SERVICE_URL) on every deploy: a deploy without it puts the placeholder back."

step "Done. What is left to do by hand"
cat << EOF
1. Integration user. Create (or pick) a user for the service, e.g. with the Salesforce Integration
   license, and assign it the Rollcall_Integration permission set:
     ${SF[*]} org assign permset --name Rollcall_Integration --on-behalf-of <username> --target-org $TARGET_ORG
2. Connected app (or External Client App) for the JWT bearer flow:
   Setup > App Manager > New Connected App (or External Client App Manager > New):
     - Enable OAuth Settings; callback URL http://localhost:1717/OauthRedirect;
     - Use digital signatures: upload $CERT_FILE;
     - OAuth scopes: "Manage user data via APIs (api)" and "Perform requests at any time (refresh_token, offline_access)";
     - Policies: Permitted Users = "Admin approved users are pre-authorized",
       then add the Rollcall_Integration permission set to the app.
   Copy its Consumer Key.
3. Named Credential secret. Setup > Named Credentials > External Credentials > Rollcall Service >
   Principals > Rollcall_Service_Principal > Authentication Parameters > Add:
     Name: Token    Value: the contents of $SECRET_FILE
4. $NC_URL_STEP
   If the service is not reachable from the internet, Salesforce cannot call it.
5. Start the service with:
     SF_LOGIN_URL=$INSTANCE_URL
     SF_USERNAME=<the integration user's username>
     SF_CLIENT_ID=<the Consumer Key from step 2>
     SF_PRIVATE_KEY_FILE=$KEY_FILE
     ROLLCALL_API_SECRET=<the contents of $SECRET_FILE>
6. In Salesforce, open the App Launcher > Rollcall, create a condition set, and Preview on Provision Users.
Keep $CERT_DIR out of source control (the default, .sf/rollcall-jwt, is ignored by git) and store the
key and the secret in your secret manager.
EOF
