// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Error {
      message: string;
      /** A `KYC_ERR_*` code from the API, or one of the client's own (`KYC_ERR_NETWORK`, …). */
      code?: string;
    }
  }
}

export {};
