#!/usr/bin/env bash
# Deploys force-app to a Salesforce org and prepares what the provisioning service needs:
#   1. checks that Rollcall's scheduled job would not block the deploy (Salesforce refuses to deploy a
#      scheduled class, and the classes it uses, while its job is scheduled): stops with what to do, or,
#      with --pause-schedule, aborts the job now and schedules it again from the saved settings at the end;
#   2. validates the source first, check-only, with the tests (sf project deploy validate): nothing in
#      the org changes unless every component deploys and every test passes;
#   3. deploys what was validated (sf project deploy quick; a full deploy where a quick one is refused);
#   4. assigns Rollcall_Admin to you and, if given, Rollcall_Integration to the integration user, after
#      the Salesforce API Integration permission set licence when that user has the Salesforce
#      Integration user licence;
#   5. points the Rollcall_Service Named Credential at the service, if --service-url is given;
#   6. creates the integration user's certificate and private key (openssl) for the JWT bearer flow,
#      and an API secret shared by the service and the Named Credential;
#   7. prints the steps that stay manual, with the values to use.
#
# Usage: npm run deploy:org -- --target-org <alias> [--integration-user <username>]
#            [--service-url https://rollcall.example.com] [--test-level RunLocalTests|NoTestRun]
#            [--cert-dir DIR] [--validate-only] [--pause-schedule | --ignore-schedule]
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
SCHEDULE_MODE=check
WAIT_MINUTES=30
PLACEHOLDER_URL="https://rollcall.example.com"
JOB_NAME="Rollcall scheduled provisioning"
# How long to wait for a scheduled run that is being started (ScheduledRunJob, one callout) to finish.
ASYNC_WAIT_SECONDS="${ROLLCALL_ASYNC_WAIT_SECONDS:-120}"
ASYNC_POLL_SECONDS="${ROLLCALL_ASYNC_POLL_SECONDS:-10}"
INTEGRATION_LICENCE="Salesforce Integration"
INTEGRATION_PSL_LABEL="Salesforce API Integration"
CLEANUP_DIRS=()

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --target-org | -o) TARGET_ORG="$2"; shift 2 ;;
        --integration-user) INTEGRATION_USER="$2"; shift 2 ;;
        --service-url) SERVICE_URL="$2"; shift 2 ;;
        --test-level) TEST_LEVEL="$2"; shift 2 ;;
        --cert-dir) CERT_DIR="$2"; shift 2 ;;
        --validate-only) VALIDATE_ONLY=true; shift ;;
        --pause-schedule) SCHEDULE_MODE=pause; shift ;;
        --ignore-schedule) SCHEDULE_MODE=ignore; shift ;;
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
# The username goes into a SOQL string literal.
if [[ -n "$INTEGRATION_USER" && ! "$INTEGRATION_USER" =~ ^[A-Za-z0-9._%+@-]+$ ]]; then
    fail "--integration-user must be a Salesforce username, e.g. rollcall-integration@acme.com"
fi
case "$TEST_LEVEL" in
    NoTestRun | RunLocalTests | RunAllTestsInOrg) ;;
    *) fail "--test-level must be NoTestRun, RunLocalTests or RunAllTestsInOrg" ;;
esac
if [[ "$VALIDATE_ONLY" == true && "$SCHEDULE_MODE" == pause ]]; then
    fail "--pause-schedule is for a deploy; a validation (--validate-only) changes nothing, so there is nothing to pause"
fi

if command -v sf > /dev/null 2>&1; then
    SF=(sf)
else
    echo "sf is not on the PATH; using npx --yes @salesforce/cli@2 (needs Node 22+ and a network)."
    SF=(npx --yes @salesforce/cli@2)
fi
command -v openssl > /dev/null 2>&1 || fail "openssl is needed to create the integration user's certificate"

json_field() {
    # Reads one field of `sf ... --json` output on stdin: json_field result.username, result.records.0.Id
    node -e '
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => {
            let parsed;
            try {
                parsed = JSON.parse(text);
            } catch {
                return;
            }
            const value = process.argv[1].split(".").reduce((object, key) => (object == null ? object : object[key]), parsed);
            process.stdout.write(value == null ? "" : String(value));
        });
    ' "$1"
}

deploy_problems() {
    # What went wrong, from `sf project deploy ... --json` on stdin: failed components and tests, coverage.
    node -e '
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => {
            let parsed;
            try {
                parsed = JSON.parse(text);
            } catch {
                process.stdout.write(text + "\n");
                return;
            }
            const result = parsed.result || parsed.data || {};
            const details = result.details || {};
            const list = (value) => (value == null ? [] : Array.isArray(value) ? value : [value]);
            const lines = [];
            for (const failure of list(details.componentFailures)) {
                lines.push(`  ${failure.componentType || ""} ${failure.fullName || ""}: ${failure.problem || ""}`);
            }
            const tests = details.runTestResult || {};
            for (const failure of list(tests.failures)) {
                lines.push(`  test ${failure.name}.${failure.methodName}: ${failure.message}`);
            }
            for (const warning of list(tests.codeCoverageWarnings)) {
                lines.push(`  coverage: ${warning.message}`);
            }
            if (!lines.length) lines.push(`  ${parsed.message || result.errorMessage || "see Setup > Deployment Status"}`);
            process.stdout.write(lines.join("\n") + "\n");
        });
    '
}

query() {
    # Runs a SOQL query and prints the JSON; fails the script with the CLI's message when it cannot.
    local output
    if ! output="$("${SF[@]}" data query --query "$1" --target-org "$TARGET_ORG" --json 2>&1)"; then
        printf '%s\n' "$output" >&2
        fail "this query failed: $1"
    fi
    printf '%s' "$output"
}

run_apex() {
    # Runs the anonymous Apex on stdin as you; returns non-zero when it does not compile or throws.
    local file output status=0
    file="$(mktemp "${TMPDIR:-/tmp}/rollcall-XXXXXX")"
    cat > "$file"
    output="$("${SF[@]}" apex run --file "$file" --target-org "$TARGET_ORG" --json 2>&1)" || status=$?
    rm -f "$file"
    if [[ "$status" -ne 0 || "$(printf '%s' "$output" | json_field result.success)" != true ]]; then
        printf '%s\n' "$output" >&2
        return 1
    fi
}

SCHEDULE_PAUSED=false

restore_schedule() {
    # Schedules the job again from Rollcall_Settings__c with whatever RollcallScheduler the org has now
    # (the new one after a deploy, the old one after a failed deploy): reschedule() exists in both.
    [[ "$SCHEDULE_PAUSED" == true ]] || return 0
    SCHEDULE_PAUSED=false
    step "Scheduling Rollcall's job again from the saved settings"
    if run_apex << 'APEX'
Rollcall_Settings__c settings = Rollcall_Settings__c.getOrgDefaults();
if (settings.Schedule_Enabled__c == true) {
    settings.Scheduled_Job_Id__c = RollcallScheduler.reschedule(settings);
    update settings;
}
APEX
    then
        echo "Scheduled again; the job now runs as $ADMIN_USERNAME (its callouts need Rollcall_Admin, assigned by this script)."
    else
        printf 'deploy-org: the schedule could NOT be restored. Open Rollcall > Scheduled Provisioning and press Save Changes to schedule it again.\n' >&2
        return 1
    fi
}

on_exit() {
    local status=$?
    restore_schedule || status=1
    if [[ ${#CLEANUP_DIRS[@]} -gt 0 ]]; then
        rm -rf "${CLEANUP_DIRS[@]}"
    fi
    exit "$status"
}
trap on_exit EXIT

step "Checking the org $TARGET_ORG"
ORG_JSON="$("${SF[@]}" org display --target-org "$TARGET_ORG" --json 2> /dev/null || true)"
ADMIN_USERNAME="$(printf '%s' "$ORG_JSON" | json_field result.username || true)"
INSTANCE_URL="$(printf '%s' "$ORG_JSON" | json_field result.instanceUrl || true)"
if [[ -z "$ADMIN_USERNAME" ]]; then
    fail "not logged in to $TARGET_ORG. Run: ${SF[*]} org login web --alias $TARGET_ORG"
fi
echo "Deploying as $ADMIN_USERNAME to $INSTANCE_URL"

step "Checking Rollcall's scheduled job"
ACTIVE_JOBS_QUERY="SELECT Id, NextFireTime FROM CronTrigger WHERE CronJobDetail.Name = '$JOB_NAME' AND State NOT IN ('DELETED', 'COMPLETE') ORDER BY NextFireTime"
ACTIVE_JOBS_JSON="$(query "$ACTIVE_JOBS_QUERY")"
ACTIVE_JOBS="$(printf '%s' "$ACTIVE_JOBS_JSON" | json_field result.totalSize)"
if [[ "${ACTIVE_JOBS:-0}" -gt 0 ]]; then
    NEXT_TICK="$(printf '%s' "$ACTIVE_JOBS_JSON" | json_field result.records.0.NextFireTime)"
    case "$SCHEDULE_MODE" in
        check)
            cat >&2 << EOF
deploy-org: Rollcall's schedule is active (job "$JOB_NAME", next tick $NEXT_TICK).
Salesforce refuses to deploy RollcallScheduler, and the classes it uses, while its job is scheduled
("This schedulable class has jobs pending or in progress"). Nothing was changed. Choose one:
  a) run again with --pause-schedule: the job is aborted, force-app validated and deployed, and the job
     scheduled again from the saved settings at the end, even if the deploy fails (it then runs as
     $ADMIN_USERNAME);
  b) turn Scheduled Provisioning off in the Rollcall app, deploy, then turn it on again;
  c) if Setup > Deployment Settings > "Allow deployments of components when corresponding Apex jobs are
     pending or in progress" is on in this org, run again with --ignore-schedule.
EOF
            exit 1
            ;;
        ignore)
            echo "The schedule is active (next tick $NEXT_TICK); deploying anyway (--ignore-schedule)."
            ;;
        pause)
            step "Pausing Rollcall's schedule for the deploy"
            run_apex << APEX || fail "the scheduled job could not be aborted; nothing was deployed"
for (CronTrigger job : [SELECT Id FROM CronTrigger WHERE CronJobDetail.Name = '$JOB_NAME' AND State NOT IN ('DELETED', 'COMPLETE')]) {
    System.abortJob(job.Id);
}
APEX
            SCHEDULE_PAUSED=true
            echo "Aborted; it is scheduled again at the end, whatever happens."
            ;;
    esac
else
    echo "Rollcall has no scheduled job: nothing blocks the deploy."
fi

# A scheduled run being started right now (ScheduledRunJob, one callout) also blocks the deploy of its class.
WAITED=0
while true; do
    STARTING="$(query "SELECT Id FROM AsyncApexJob WHERE ApexClass.Name = 'ScheduledRunJob' AND Status IN ('Holding', 'Queued', 'Preparing', 'Processing')" | json_field result.totalSize)"
    [[ "${STARTING:-0}" -gt 0 ]] || break
    if [[ "$WAITED" -ge "$ASYNC_WAIT_SECONDS" ]]; then
        fail "a scheduled run is still being started after ${ASYNC_WAIT_SECONDS}s (Setup > Apex Jobs); run this again in a few minutes"
    fi
    echo "A scheduled run is being started; waiting for it (${WAITED}s so far)..."
    sleep "$ASYNC_POLL_SECONDS"
    WAITED=$((WAITED + ASYNC_POLL_SECONDS))
done

step "Validating force-app, check-only ($TEST_LEVEL)"
VALIDATION_JSON=""
if ! VALIDATION_JSON="$("${SF[@]}" project deploy validate --source-dir force-app --target-org "$TARGET_ORG" \
    --test-level "$TEST_LEVEL" --wait "$WAIT_MINUTES" --json 2>&1)"; then
    printf '%s' "$VALIDATION_JSON" | deploy_problems >&2
    fail "the validation failed, so nothing was deployed"
fi
VALIDATION_ID="$(printf '%s' "$VALIDATION_JSON" | json_field result.id)"
echo "Validated (deployment $VALIDATION_ID): every component deploys and every test passes."
if [[ "$VALIDATE_ONLY" == true ]]; then
    echo "Validation only: nothing was deployed. To deploy exactly this later (within 10 days):"
    echo "  ${SF[*]} project deploy quick --job-id $VALIDATION_ID --target-org $TARGET_ORG"
    exit 0
fi

step "Deploying what was validated"
if [[ -n "$VALIDATION_ID" ]] && "${SF[@]}" project deploy quick --job-id "$VALIDATION_ID" \
    --target-org "$TARGET_ORG" --wait "$WAIT_MINUTES"; then
    echo "Deployed (quick deploy of the validation $VALIDATION_ID, tests not run again)."
else
    echo "The quick deploy was refused (for example, a sandbox validation without tests); deploying in full."
    "${SF[@]}" project deploy start --source-dir force-app --target-org "$TARGET_ORG" \
        --test-level "$TEST_LEVEL" --wait "$WAIT_MINUTES"
fi

restore_schedule

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

# A user with the Salesforce Integration user licence can hold Rollcall_Integration's permissions (API
# Enabled, object access) only through the Salesforce API Integration permission set licence, which
# must be assigned first.
assign_integration_licence() {
    local user="$1" users licence psl output
    users="$(query "SELECT Id, Profile.UserLicense.Name FROM User WHERE Username = '$user'")"
    if [[ "$(printf '%s' "$users" | json_field result.totalSize)" != 1 ]]; then
        fail "no user $user in $TARGET_ORG: create the integration user first (see the manual steps in docs/salesforce-package.md), then run this again"
    fi
    licence="$(printf '%s' "$users" | json_field result.records.0.Profile.UserLicense.Name)"
    if [[ "$licence" != "$INTEGRATION_LICENCE" ]]; then
        echo "$user has the $licence user licence: no permission set licence to assign."
        return 0
    fi
    psl="$(query "SELECT DeveloperName FROM PermissionSetLicense WHERE MasterLabel = '$INTEGRATION_PSL_LABEL'" | json_field result.records.0.DeveloperName)"
    [[ -n "$psl" ]] || fail "this org has no \"$INTEGRATION_PSL_LABEL\" permission set licence (Setup > Company Information); it comes with Salesforce Integration user licences"
    if output="$("${SF[@]}" org assign permsetlicense --name "$psl" --on-behalf-of "$user" --target-org "$TARGET_ORG" 2>&1)"; then
        echo "Assigned the $INTEGRATION_PSL_LABEL permission set licence to $user."
    elif grep -qi "duplicate\|already" <<< "$output"; then
        echo "$user already has the $INTEGRATION_PSL_LABEL permission set licence."
    else
        printf '%s\n' "$output" >&2
        fail "could not assign the $INTEGRATION_PSL_LABEL permission set licence to $user (are all its seats used? Setup > Company Information)"
    fi
}

step "Assigning the permission sets"
assign_permset Rollcall_Admin
if [[ -n "$INTEGRATION_USER" ]]; then
    assign_integration_licence "$INTEGRATION_USER"
    assign_permset Rollcall_Integration "$INTEGRATION_USER"
else
    echo "No --integration-user given: assign Rollcall_Integration to it later (see below)."
fi

if [[ -n "$SERVICE_URL" ]]; then
    step "Pointing the Rollcall_Service Named Credential at $SERVICE_URL"
    STAGE="$(mktemp -d)"
    CLEANUP_DIRS+=("$STAGE")
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
   user licence and the "Minimum Access - API Only Integrations" profile. Such a user needs the
   "$INTEGRATION_PSL_LABEL" permission set licence BEFORE Rollcall_Integration can be assigned to it
   (Setup > Users > the user > Permission Set License Assignments > Edit Assignments). Running this
   script again with --integration-user <username> assigns both, in that order; by hand:
     ${SF[*]} org assign permsetlicense --name <the licence's API name> --on-behalf-of <username> --target-org $TARGET_ORG
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
