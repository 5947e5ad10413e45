/**
 * Page sizes of every listing (API routes, the datasets part): one definition. Kept apart from
 * the DynamoDB toolkit so request schemas (also read by the client and the OpenAPI writer) need
 * no SDK.
 */

/** Items per page when a listing asks for no size. */
export const DEFAULT_PAGE_SIZE = 25;
/** The most items a listing returns per page. */
export const MAX_PAGE_SIZE = 100;
