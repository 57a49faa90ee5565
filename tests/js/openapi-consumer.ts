// A merchant server's code against the TypeScript types openapi-typescript generates from
// /openapi.json (tests/tests/openapi.rs writes them next to this file as api.d.ts, in a temporary
// folder, and runs tsc --noEmit --strict). The @ts-expect-error lines must stay errors: they
// check that the types are precise, not `any`.
import type { components, paths, operations, webhooks } from "./api";

type Schemas = components["schemas"];
type SessionList = paths["/v1/sessions"]["get"]["responses"][200]["content"]["application/json"];
type ListQuery = NonNullable<operations["listSessions"]["parameters"]["query"]>;
type Created = paths["/v1/sessions"]["post"]["responses"][201]["content"]["application/json"];
type CreateBody = NonNullable<paths["/v1/sessions"]["post"]["requestBody"]>["content"]["application/json"];
type ErrorBody = paths["/v1/sessions/{id}"]["get"]["responses"][404]["content"]["application/json"];
type PaidHook = NonNullable<webhooks["checkout.session.paid"]["post"]["requestBody"]>["content"]["application/json"];

export function unpaid(list: SessionList): string[] {
  return list.data.filter((s) => s.status !== "paid").map((s) => `${s.reference}: ${s.amount} ${s.currency}`);
}

export function nextPage(list: SessionList, query: ListQuery): ListQuery | null {
  const last = list.data[list.data.length - 1];
  return list.has_more && last ? { ...query, after: last.id } : null;
}

export const query: ListQuery = { reference: "order-1", status: "closing", created_gte: 0, limit: 100 };

export const body: CreateBody = { amount: 3800, currency: "HKD", goods_name: "Milk tea", reference: "order-1" };

export function secretOf(created: Created): string | undefined {
  return created.client_secret ?? undefined;
}

export function describe(error: ErrorBody): string {
  const code: Schemas["ErrorCode"] = error.error.code;
  return `${code}${error.error.field ? ` (${error.error.field})` : ""}: ${error.error.message}`;
}

export function fulfil(event: PaidHook): [string, number] {
  return [event.data.session.id, event.created];
}

// @ts-expect-error: "done" is not a session status.
export const badStatus: ListQuery = { status: "done" };
// @ts-expect-error: the list's answer has no `items`.
export const badList = (list: SessionList) => list.items;
// @ts-expect-error: "oops" is not an error code.
export const badCode: Schemas["ErrorCode"] = "oops";
// @ts-expect-error: a session needs a reference.
export const badBody: CreateBody = { amount: 1, currency: "HKD", goods_name: "x" };
