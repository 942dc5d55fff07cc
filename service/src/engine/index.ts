/**
 * The condition engine: a pure core. It takes plain data (describes, condition set definitions,
 * users, authorization statuses, a clock in `EvalContext`) and returns plain data. No I/O, no
 * adapters, no reading of the system clock. See docs/engine.md.
 */
export {
    FIELD_TYPES,
    OPERATORS,
    OPERATOR_INFO,
    OPERATOR_TABLE,
    exportOperatorTable,
    isFieldType,
    isOperator,
    operatorsFor,
    operatorsTaking
} from './operators';
export type { FieldType, Operator, OperatorInfo, OperatorTableExport, ValueKind } from './operators';
export { AUTHORIZATION_STATUSES } from './types';
export type {
    AuthorizationStatus,
    Condition,
    ConditionScalar,
    ConditionSetInput,
    ConditionValue,
    Definition,
    EvalContext,
    FieldDescribe,
    PicklistEntry,
    SObjectDescribe,
    UserRecord,
    ValidationError,
    ValidationErrorCode
} from './types';
export {
    BUILT_IN_PROFILE_DESCRIBE,
    BUILT_IN_USER_ROLE_DESCRIBE,
    IS_MANAGER,
    PARENT_RELATIONSHIPS,
    buildSchema,
    builderFields
} from './schema';
export type { BuilderField, ParentRelationship, Schema, SchemaField } from './schema';
export { parseLogic, defaultLogic } from './logic';
export type { LogicNode, LogicResult } from './logic';
export {
    MAX_CONDITIONS,
    MAX_LIST_VALUES,
    MAX_VALUE_LENGTH,
    toPlainDefinition,
    validateDefinition
} from './validate';
export type { ResolvedCondition, ValidDefinition, ValidationResult } from './validate';
export { caseSafeSuffix, normalizeRecordId } from './ids';
export type { RecordIdCheck } from './ids';
export { soqlLike, soqlString } from './soql';
export { MAX_SOQL_LENGTH, fieldsInUse, requiredManagerIds } from './compile';
export type { CompileContext } from './compile';
export {
    MAX_QUERIES_PER_SET,
    MAX_QUERY_REQUEST_LINE_BYTES,
    SALESFORCE_REQUEST_LIMIT_BYTES,
    encodedLength,
    planCandidateQueries,
    queryRequestLineBytes
} from './plan';
export type { CandidateQueryOptions, CandidateQueryPlan, UnrunnableSet } from './plan';
export {
    compileWhere,
    computeEligibility,
    EligibilityAccumulator,
    explain,
    isActiveUser,
    matchSets,
    prepareSets
} from './sets';
export type {
    ConditionExplanation,
    EligibilityEntry,
    EligibilityResult,
    Explanation,
    InvalidSet,
    Overlap,
    PreparedSet,
    PreparedSets,
    ProductExplanation,
    SetExplanation,
    StatusOf
} from './sets';
export { dayInZone, isValidTimeZone, parseDatetime, relativeWindow } from './dates';
export {
    CORE_USER_SCHEMA,
    DEFAULT_ATTRIBUTE_MAP,
    ENTERPRISE_USER_SCHEMA,
    MATCH_ON_FIELDS,
    buildUserResource,
    getAtPath,
    mappedValues,
    parseAttributePath,
    setAtPath,
    userFieldValue,
    validateAttributeMap
} from './attribute-map';
export type {
    AttributeMapping,
    AttributePath,
    AttributeSource,
    MappedValue,
    MappingError,
    MappingResult,
    MatchOn,
    ValidMapping
} from './attribute-map';
export {
    ACTION_KINDS,
    accountKey,
    actionKey,
    attributeChanges,
    desiredAccess,
    parseGroups,
    planUser,
    roleOperations
} from './access-plan';
export type {
    AccessGrant,
    AccountRecord,
    ActionKind,
    AppAccountState,
    DesiredAccess,
    PlannedAction,
    PlanUserInput,
    UserPlan
} from './access-plan';
