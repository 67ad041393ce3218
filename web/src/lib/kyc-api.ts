// Products, the case's script and KYC view, the customer's prompts (same origin; see $lib/api.ts).
import { request } from '$lib/api.js';
import type {
  CaseKycView,
  CaseStepView,
  CustomerScriptView,
  GeolocationReceived,
  LocalizedText,
  ProductDefinition,
  ProductDiff,
  ProductList,
  ProductUpdated,
  ProductView,
  ScriptStepDefinition,
  StepAction,
} from '../../../appliance/src/kyc/kyc-api-types.js';
export type { CaseKycView, CaseStepView, CustomerScriptView, LocalizedText, ProductDefinition, ProductDiff, ProductView, ScriptStepDefinition, StepAction };

const enc = encodeURIComponent;

export async function listProducts(fetchFn?: typeof fetch): Promise<ProductView[]> {
  return (await request<ProductList>('GET', '/api/products', fetchFn ? { fetch: fetchFn } : {})).items;
}

export async function productVersions(code: string): Promise<ProductView[]> {
  return (await request<ProductList>('GET', `/api/products/${enc(code)}/versions`)).items;
}

export function productDiff(code: string, from: number, to: number): Promise<ProductDiff> {
  return request<ProductDiff>('GET', `/api/admin/products/${enc(code)}/diff?from=${from}&to=${to}`);
}

export function createProduct(p: ProductDefinition): Promise<ProductView> {
  return request<ProductView>('POST', '/api/admin/products', { body: p });
}

export function updateProduct(p: ProductDefinition): Promise<ProductUpdated> {
  return request('PUT', `/api/admin/products/${enc(p.code)}`, { body: p });
}

export function getCaseKyc(caseId: string, fetchFn?: typeof fetch): Promise<CaseKycView> {
  return request<CaseKycView>('GET', `/api/cases/${enc(caseId)}/kyc`, fetchFn ? { fetch: fetchFn } : {});
}

export function completeStep(caseId: string, stepId: string): Promise<StepAction> {
  return request<StepAction>('POST', `/api/cases/${enc(caseId)}/kyc/steps/${enc(stepId)}/complete`, { body: {} });
}

const sessionPath = (sessionId: string, tail: string, token: string | null) => `/api/sessions/${enc(sessionId)}${tail}${token ? `?invitation=${enc(token)}` : ''}`;

export function customerScript(sessionId: string, token: string | null): Promise<CustomerScriptView> {
  return request<CustomerScriptView>('GET', sessionPath(sessionId, '/kyc', token));
}

export function confirmStep(sessionId: string, token: string, confirmationId: string): Promise<StepAction> {
  return request<StepAction>('POST', sessionPath(sessionId, '/kyc/confirm', token), { body: { confirmationId } });
}

export function sendGeolocation(
  sessionId: string,
  token: string,
  g: { consent: 'granted' | 'refused' | 'unavailable'; latitude?: number; longitude?: number; accuracy?: number; capturedAt?: string },
): Promise<GeolocationReceived> {
  return request('POST', sessionPath(sessionId, '/geolocation', token), { body: g });
}

/** The text of a localized value in the UI's language (zh-CN or en). */
export function localized(text: LocalizedText | null | undefined, locale: string): string {
  if (!text) return '';
  return locale === 'en' ? text.en : text['zh-CN'];
}
